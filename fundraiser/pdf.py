"""PDF pages with fpdf2: one font that has Latin and Hebrew glyphs and one
for Arabic, its fallback (shipped in fundraiser/fonts/, SIL Open Font
License), HarfBuzz text shaping (Arabic letters join), and a right-to-left
layout for right-to-left languages. No domain knowledge here:
receipts and statements (fundraiser/donations/) say what goes on the page."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "NotoSansHebrewLatin"
ARABIC = "NotoNaskhArabic"  # any glyph FAMILY lacks (Arabic) comes from here
MUTED = (90, 90, 90)
RULE = (190, 190, 190)


def ltr(text: str) -> str:
    """`text` marked as one left-to-right piece (an email, a reference): in
    a right-to-left line a leading "-" or "_" would otherwise move to its
    other end. The marks draw nothing."""
    return f"\u200e{text}\u200e" if text else ""


class Page:
    """An A4 document written top to bottom. `rtl` mirrors it: text is
    right-aligned, the first column of a table is the rightmost, and
    paragraphs take a right-to-left base direction (Unicode bidi), so a
    Latin name or a number inside Hebrew text stays where it belongs."""

    def __init__(self, *, title: str, lang: str, rtl: bool = False, author: str = ""):
        self.rtl = rtl
        self.align = "R" if rtl else "L"
        pdf = FPDF(format="A4", unit="mm")
        pdf.set_margins(20, 18, 20)
        pdf.set_auto_page_break(True, margin=18)
        pdf.add_font(FAMILY, "", str(FONTS / f"{FAMILY}-Regular.ttf"))
        pdf.add_font(FAMILY, "B", str(FONTS / f"{FAMILY}-Bold.ttf"))
        self._fallback = False  # the Arabic font: added when a text needs it
        self.direction = "rtl" if rtl else "ltr"
        pdf.set_text_shaping(use_shaping_engine=True, direction=self.direction)
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_lang(lang)
        pdf.set_creator("Fundraiser")
        pdf.add_page()
        self.pdf = pdf

    @property
    def width(self) -> float:
        return self.pdf.epw

    def _cover(self, *texts: str) -> None:
        """Add the fallback font before the first text that needs it: every
        font added is embedded (a subset), and each costs ~40 ms to write,
        so a receipt without Arabic letters carries none."""
        if self._fallback:
            return
        own = _codepoints(FAMILY)
        if any(ord(ch) not in own and not ch.isspace() for text in texts for ch in text):
            self.pdf.add_font(ARABIC, "", str(FONTS / f"{ARABIC}-Regular.ttf"))
            self.pdf.add_font(ARABIC, "B", str(FONTS / f"{ARABIC}-Bold.ttf"))
            self.pdf.set_fallback_fonts([ARABIC])
            self._fallback = True

    def _font(self, size: float, bold: bool = False, muted: bool = False) -> None:
        self.pdf.set_font(FAMILY, "B" if bold else "", size)
        self.pdf.set_text_color(*(MUTED if muted else (0, 0, 0)))

    def text(self, text: str, *, size: float = 10.5, bold: bool = False, muted: bool = False,
             space_after: float = 1.5, own_direction: bool = False) -> None:
        """A paragraph, wrapped to the page width. `own_direction`: text not
        written in the page's language (a name, an address) takes the
        direction of its first letter instead of the page's."""
        if not text:
            return
        self._cover(text)
        self._font(size, bold, muted)
        if own_direction:
            self.pdf.set_text_shaping(use_shaping_engine=True, direction=None)
        self.pdf.multi_cell(0, size * 0.5, text, align=self.align, new_x="LMARGIN",
                            new_y="NEXT")
        if own_direction:
            self.pdf.set_text_shaping(use_shaping_engine=True, direction=self.direction)
        self.pdf.ln(space_after)

    def heading(self, text: str, size: float = 17) -> None:
        self.text(text, size=size, bold=True, space_after=3)

    def rule(self, space: float = 4) -> None:
        pdf = self.pdf
        pdf.ln(space / 2)
        pdf.set_draw_color(*RULE)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(space / 2)

    def facts(self, rows: list[tuple[str, str]], label_share: float = 0.32) -> None:
        """Label and value, one pair a line (values wrap)."""
        rows = [(label, value) for label, value in rows if value]
        self.table(None, rows, [label_share, 1 - label_share], bold_first=True, lines=False)

    def table(self, headings: list[str] | None, rows: list[list[str] | tuple[str, ...]],
              shares: list[float], *, numeric: tuple[int, ...] = (),
              bold_first: bool = False, lines: bool = True,
              bold_rows: tuple[int, ...] = ()) -> None:
        """A table across the page; `shares` are column widths as parts of
        it; `numeric` columns align to the end (amounts line up)."""
        columns = len(shares)
        order = list(range(columns))[::-1] if self.rtl else list(range(columns))
        widths = [shares[i] * self.width for i in order]
        end = "L" if self.rtl else "R"
        align = [end if i in numeric else self.align for i in order]
        self._font(10)
        pdf = self.pdf
        pdf.set_draw_color(*RULE)
        body = [[str(row[i]) for i in order] for row in rows]
        self._cover(*(headings or ()), *(cell for cells in body for cell in cells))
        with pdf.table(col_widths=widths, text_align=align, first_row_as_headings=bool(headings),
                       borders_layout="HORIZONTAL_LINES" if lines else "NONE",
                       line_height=5.6, padding=(1.2, 1.5), width=self.width,
                       headings_style=FontFace(emphasis="BOLD")) as table:
            if headings:
                table.row([headings[i] for i in order])
            for index, cells in enumerate(body):
                row = table.row()
                for position, cell in enumerate(cells):
                    bold = index in bold_rows or (bold_first and order[position] == 0)
                    row.cell(cell, style=FontFace(emphasis="BOLD") if bold else None)
        pdf.ln(3)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


@cache
def _codepoints(family: str) -> frozenset[int]:
    """The characters the regular face of `family` has glyphs for."""
    from fontTools.ttLib import TTFont

    with TTFont(FONTS / f"{family}-Regular.ttf", lazy=True) as font:
        return frozenset(font.getBestCmap())
