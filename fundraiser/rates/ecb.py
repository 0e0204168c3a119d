"""Reading the European Central Bank's reference-rate CSV (eurofxref.csv):

    Date, USD, JPY, BGN, ..., ZAR,
    05 December 2025, 1.1645, 180.93, 1.9558, ..., 19.9178,

A header row and one row of figures, each cell padded with a space and the
rows ending in a trailing comma. A cell may read N/A (no rate that day).
Anything else is refused whole, with a sentence that says what is wrong:
nothing is half-imported. Pure: text in, figures out."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from babel.numbers import is_currency

from .convert import RateError, read_rate
from .models import BASE

MAX_BYTES = 64 * 1024        # the real file is under 1 KB
_CODE = re.compile(r"[A-Z]{3}")


def N_(text):  # marks a message for the catalogue; the view translates it
    return text


class EcbFormatError(ValueError):
    """The file is not an ECB reference-rate CSV. str() says why in English;
    `template` and `params` let a view say it in the page's language."""

    def __init__(self, template: str, **params):
        super().__init__(template % params if params else template)
        self.template, self.params = template, params


@dataclass(frozen=True)
class EcbRates:
    day: date
    rates: dict[str, Decimal]     # per euro; N/A cells left out


def _cells(row: list[str]) -> list[str]:
    cells = [c.strip() for c in row]
    while cells and cells[-1] == "":   # the trailing comma (and spaces)
        cells.pop()
    return cells


def _read_date(text: str) -> date:
    for fmt in ("%d %B %Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise EcbFormatError(N_("The date “%(text)s” is not a date like 05 December 2025."),
                         text=text[:40])


def parse(data: bytes | str, today: date | None = None) -> EcbRates:
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise EcbFormatError(N_("The file is too large to be the ECB's daily rates "
                                    "(it is under 1 KB)."))
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise EcbFormatError(N_("The file is not text (UTF-8).")) from exc
    if len(data) > MAX_BYTES:
        raise EcbFormatError(N_("The file is too large to be the ECB's daily rates "
                                "(it is under 1 KB)."))
    if "\x00" in data:
        raise EcbFormatError(N_("The file is not text (UTF-8)."))
    rows = [r for r in (_cells(row) for row in csv.reader(data.splitlines())) if r]
    if len(rows) != 2:
        raise EcbFormatError(N_("Expected a header row and one row of rates (found %(count)s "
                                "rows)."), count=len(rows))
    header, figures = rows
    if header[0] != "Date":
        raise EcbFormatError(N_("The first column must be headed “Date”."))
    codes = header[1:]
    if not codes:
        raise EcbFormatError(N_("The file names no currencies."))
    if len(figures) != len(header):
        raise EcbFormatError(N_("The header names %(codes)s currencies but the rates row has "
                                "%(figures)s figures."), codes=len(codes),
                             figures=len(figures) - 1)
    seen = set()
    for code in codes:
        if not _CODE.fullmatch(code) or not is_currency(code):
            raise EcbFormatError(N_("“%(code)s” is not a currency code."), code=code[:20])
        if code == BASE:
            raise EcbFormatError(N_("The euro is the base of the rates; it cannot have a rate."))
        if code in seen:
            raise EcbFormatError(N_("%(code)s appears twice."), code=code)
        seen.add(code)
    day = _read_date(figures[0])
    if today is not None and day > today:
        raise EcbFormatError(N_("The rates are dated %(day)s, in the future."),
                             day=day.isoformat())
    rates = {}
    for code, cell in zip(codes, figures[1:], strict=True):
        if cell == "N/A":
            continue
        try:
            rates[code] = read_rate(cell)
        except RateError as exc:
            raise EcbFormatError(N_("The rate for %(code)s (“%(cell)s”) is not a positive number "
                                    "like 1.0823."), code=code, cell=cell[:20]) from exc
    if not rates:
        raise EcbFormatError(N_("The file holds no rates."))
    return EcbRates(day, rates)
