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


class EcbFormatError(ValueError):
    """The file is not an ECB reference-rate CSV; str() says why, for staff."""


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
    raise EcbFormatError(f"The date “{text[:40]}” is not a date like 05 December 2025.")


def parse(data: bytes | str, today: date | None = None) -> EcbRates:
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise EcbFormatError("The file is too large to be the ECB's daily rates "
                                 "(it is under 1 KB).")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise EcbFormatError("The file is not text (UTF-8).") from exc
    if len(data) > MAX_BYTES:
        raise EcbFormatError("The file is too large to be the ECB's daily rates.")
    if "\x00" in data:
        raise EcbFormatError("The file is not text.")
    rows = [r for r in (_cells(row) for row in csv.reader(data.splitlines())) if r]
    if len(rows) != 2:
        raise EcbFormatError("Expected a header row and one row of rates "
                             f"(found {len(rows)} rows).")
    header, figures = rows
    if header[0] != "Date":
        raise EcbFormatError("The first column must be headed “Date”.")
    codes = header[1:]
    if not codes:
        raise EcbFormatError("The file names no currencies.")
    if len(figures) != len(header):
        raise EcbFormatError(f"The header names {len(codes)} currencies but the rates row "
                             f"has {len(figures) - 1} figures.")
    seen = set()
    for code in codes:
        if not _CODE.fullmatch(code) or not is_currency(code):
            raise EcbFormatError(f"“{code[:20]}” is not a currency code.")
        if code == BASE:
            raise EcbFormatError("The euro is the base of the rates; it cannot have a rate.")
        if code in seen:
            raise EcbFormatError(f"{code} appears twice.")
        seen.add(code)
    day = _read_date(figures[0])
    if today is not None and day > today:
        raise EcbFormatError(f"The rates are dated {day.isoformat()}, in the future.")
    rates = {}
    for code, cell in zip(codes, figures[1:], strict=True):
        if cell == "N/A":
            continue
        try:
            rates[code] = read_rate(cell)
        except RateError as exc:
            raise EcbFormatError(f"The rate for {code} (“{cell[:20]}”) is not a positive "
                                 "number like 1.0823.") from exc
    if not rates:
        raise EcbFormatError("The file holds no rates.")
    return EcbRates(day, rates)
