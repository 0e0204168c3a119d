"""The PDF plumbing: the shipped font draws every amount the app can print,
in every currency it takes and both interface languages, and a Hebrew page
comes out as Hebrew text a PDF reader can find."""

import pytest
from fontTools.ttLib import TTFont

from fundraiser.limits import CURRENCIES
from fundraiser.money import Money
from fundraiser.pdf import FAMILY, FONTS, Page
from tests.pdfs import pdf_text

HEBREW_LETTERS = "".join(chr(c) for c in range(0x05D0, 0x05EB))


@pytest.mark.parametrize("weight", ["Regular", "Bold"])
def test_the_shipped_font_has_hebrew_latin_and_every_currency_the_app_takes(weight):
    cmap = TTFont(FONTS / f"{FAMILY}-{weight}.ttf").getBestCmap()
    amounts = "".join(Money.from_major(1234, c).format(locale)
                      for c in CURRENCIES for locale in ("en", "he"))
    needed = set(HEBREW_LETTERS + "״׳־" + amounts + "„”“—–'‏‎") | set(map(chr, range(0x20, 0x7F)))
    missing = sorted(ch for ch in needed if ord(ch) not in cmap and not ch.isspace())
    assert missing == []
    assert (FONTS / "OFL.txt").read_text().startswith("Noto Sans")


def test_a_hebrew_page_holds_hebrew_text_and_a_latin_one_latin():
    page = Page(title="קבלה", lang="he", rtl=True)
    page.heading("קבלה על תרומה")
    page.facts([("סכום", Money(18000, "ILS").format("he")), ("קמפיין", "לחם ושושנים")])
    page.table(["תאריך", "סכום"], [["4 במאי 2025", Money(5000, "USD").format("he")]],
               [0.5, 0.5], numeric=(1,))
    text = pdf_text(page.output())
    assert "קבלה על תרומה" in text and "לחם ושושנים" in text and "180.00" in text

    english = Page(title="Receipt", lang="en")
    english.text("Thank you, Dana. ¥5,000 and €12.50 received.")
    assert "Thank you, Dana. ¥5,000 and €12.50 received." in pdf_text(english.output())


def _embedded_fonts(pdf: bytes) -> set[str]:
    import re

    return set(re.findall(rb"/BaseFont /MPDFAA\+([A-Za-z-]+)", pdf))


def test_a_page_embeds_the_arabic_font_only_when_a_text_needs_it():
    # Each embedded font costs a receipt ~40 ms to write: an English or
    # Hebrew receipt carries none it does not use; an Arabic name in a table
    # on an English page still comes out in Arabic letters.
    english = Page(title="Receipt", lang="en")
    english.heading("Receipt")
    english.facts([("Name", "Dana Cohen"), ("Amount", Money(5000, "USD").format("en"))])
    plain = english.output()
    assert not any(b"Naskh" in name for name in _embedded_fonts(plain))

    mixed = Page(title="Receipt", lang="en")
    mixed.heading("Receipt")
    mixed.facts([("Name", "ليلى حداد"), ("Amount", Money(5000, "USD").format("en"))])
    out = mixed.output()
    assert any(b"Naskh" in name for name in _embedded_fonts(out))
    text = pdf_text(out)
    assert "ليلى" in text and "حداد" in text
