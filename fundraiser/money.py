"""Money as integer minor units plus an ISO 4217 code.

Conversions between what a person types or reads and minor units live here
and nowhere else. Babel's currency data says how many decimals a currency has
(JPY 0, USD 2, BHD 3), so nothing is hard-coded per currency.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from babel.core import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    is_currency,
    parse_decimal,
)

# MoneyError.kind
NOT_AN_AMOUNT = "not an amount"
TOO_MANY_DECIMALS = "too many decimals"
AMBIGUOUS = "ambiguous"


class MoneyError(ValueError):
    """A value a person typed cannot be a sum of money."""

    def __init__(self, message: str, places: int | None = None, kind: str = NOT_AN_AMOUNT):
        super().__init__(message)
        self.places = places  # set when only the number of decimals was wrong
        self.kind = TOO_MANY_DECIMALS if places is not None else kind


def decimals(currency: str) -> int:
    return get_currency_precision(currency.upper())


def check_currency(currency: str) -> str:
    code = (currency or "").upper()
    if len(code) != 3 or not is_currency(code):
        raise MoneyError(f"unknown currency {currency!r}")
    return code


@dataclass(frozen=True, order=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self):
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int of minor units")
        object.__setattr__(self, "currency", check_currency(self.currency))

    @classmethod
    def parse(cls, text: str, currency: str, locale: str | Locale | None = "en") -> Money:
        """What a person typed → Money, read the way `locale` writes numbers
        ('5,00' is five in German, '1,234.56' in English); see read_amount().
        `locale=None` reads our own plain form ('1234.5'), as in preset values.
        Refuses signs, exponents, more decimals than the currency has, and a
        figure that means two different amounts depending on the decimal sign."""
        code = check_currency(currency)
        places = decimals(code)
        value = read_amount(text, places, locale)
        scaled = value.scaleb(places)
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"at most {places} decimal places", places=places)
        return cls(int(scaled), code)

    @classmethod
    def from_major(cls, major: int, currency: str) -> Money:
        code = check_currency(currency)
        return cls(int(major) * 10 ** decimals(code), code)

    def as_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-decimals(self.currency))

    def format(self, locale: str | Locale = "en", whole: bool = False) -> str:
        """Localised text, e.g. '$25.00', '₪ 1,000.00' / '‏1,000.00 ₪', '¥500'.
        `whole=True` drops a zero fraction ('$25') for headlines and buttons."""
        amount = self.as_decimal()
        if whole and amount == amount.to_integral_value():
            # The locale's own pattern without its fraction part: '¤#,##0'.
            pattern = Locale.parse(locale).currency_formats["standard"].pattern
            text = format_currency(
                amount, self.currency, format=pattern.replace(".00", ""),
                locale=locale, currency_digits=False,
            )
        else:
            text = format_currency(amount, self.currency, locale=locale)
        return _keep_symbol_together(text, self.currency, locale)

    def input_text(self, locale: str | Locale = "en") -> str:
        """The amount as a person would type it in `locale`, without group
        separators ('1234,50' in German), for prefilling a form; it reads back
        as this amount ('25' for a whole amount; trailing zeros go when they
        would make it ambiguous)."""
        mark = get_decimal_symbol(locale)
        amount = self.as_decimal()
        whole = amount.to_integral_value()
        candidates = (whole,) if amount == whole else (amount, amount.normalize())
        for value in candidates:
            text = format(value, "f").replace(".", mark)
            try:
                if Money.parse(text, self.currency, locale) == self:
                    return text
            except MoneyError:
                continue
        return format(amount.normalize(), "f")

    def symbol(self, locale: str = "en") -> str:
        return get_currency_symbol(self.currency, locale=locale)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise TypeError("can only add Money of the same currency")
        return Money(self.minor + other.minor, self.currency)

    def __str__(self) -> str:
        return self.format("en")


# -- reading what a person typed ---------------------------------------------

# Longest figure we read at all (a gift of 10,000,000.000 with separators
# fits with room to spare); anything longer is not an amount.
_MAX_TYPED = 32
_MAX_DIGITS = 20
# Spaces people type between groups of thousands (French writes a narrow
# no-break space; keyboards give a plain one).
_SPACES = re.compile(r"[ \u00a0\u2009\u202f]+")
# The two conventions a figure may be written in, whatever the page's locale:
# '.' as decimal sign (English) and ',' (German). A figure the page's locale
# reads one way and one of these reads another way is ambiguous.
_CONVENTIONS = ("en", "de")
_ALLOWED = re.compile(r"[0-9.,'\u2019 \u00a0\u2009\u202f\u066b\u066c]+")


def _ascii_digits(text: str) -> str:
    """Any script's decimal digits (Arabic-Indic '١٢') as ASCII ones."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def _strict(text: str, locale) -> Decimal | None:
    """`text` read strictly by Babel in `locale`, or None if it is not a
    number written that way (e.g. '5,00' in English: misplaced grouping)."""
    group, mark = get_group_symbol(locale), get_decimal_symbol(locale)
    # Arabic's own separators mean the same whatever the locale.
    text = text.replace("\u066b", mark).replace("\u066c", group)
    text = _SPACES.sub(group, text)
    try:
        value = parse_decimal(text, locale, strict=True)
    except (NumberFormatError, ValueError):
        return None
    return value if value.is_finite() and value >= 0 else None


def _written_places(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent)


def read_amount(text: str, places: int, locale: str | Locale | None = "en") -> Decimal:
    """The number a person typed, as `locale` writes numbers, or MoneyError.

    The page's locale decides, strictly (Babel): '5,00' is five in German,
    '1,234.50' a thousand and more in English. But a figure is never read as
    more than it could also mean: when a separator the locale takes for a
    thousands separator is a decimal sign in the other convention, and that
    smaller amount is one the currency can have (at most `places` decimals),
    the figure is refused as ambiguous instead of guessed — '1,234' on an
    English page in a three-decimal currency (KWD 1.234 or 1,234?). A figure
    that is no number in the page's locale but is one in exactly one
    convention ('5,00' on an English page) can mean only that."""
    text = (text or "").strip()
    digits = sum(ch.isdecimal() for ch in text)
    if not text or len(text) > _MAX_TYPED or not 0 < digits <= _MAX_DIGITS:
        raise MoneyError("not an amount")
    text = _ascii_digits(text)
    if not _ALLOWED.fullmatch(text):
        raise MoneyError("not an amount")
    if locale is None:  # our own plain form: digits and an optional '.' fraction
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
            raise MoneyError("not an amount")
        return Decimal(text)
    try:
        locale = Locale.parse(locale)
    except (ValueError, TypeError, UnknownLocaleError):
        locale = Locale.parse("en")
    own = _strict(text, locale)
    readings = {_strict(text, c) for c in _CONVENTIONS} - {None}
    plausible = {value for value in readings if _written_places(value) <= places}
    if own is not None:
        if _written_places(own) > places:
            raise MoneyError(f"at most {places} decimal places", places=places)
        if any(value < own for value in plausible):
            raise MoneyError("ambiguous", kind=AMBIGUOUS)
        return own
    if len(plausible) == 1:
        return plausible.pop()
    if plausible:
        raise MoneyError("ambiguous", kind=AMBIGUOUS)
    if readings:
        raise MoneyError(f"at most {places} decimal places", places=places)
    raise MoneyError("not an amount")


def _keep_symbol_together(text: str, currency: str, locale: str | Locale) -> str:
    """In a right-to-left locale a symbol with Latin letters ('US$' in
    Arabic) would show as '$US': the '$' after the letters takes the
    line's direction. A left-to-right mark after it keeps it whole."""
    parsed = Locale.parse(locale)
    if parsed.character_order != "right-to-left":
        return text
    symbol = get_currency_symbol(currency, parsed)
    if not any("a" <= c.lower() <= "z" for c in symbol) or symbol not in text:
        return text
    return text.replace(symbol, symbol + "\u200e", 1)
