"""Money as integer minor units plus an ISO 4217 code.

Conversions between what a person types or reads and minor units live here
and nowhere else. Babel's currency data says how many decimals a currency has
(JPY 0, USD 2, BHD 3), so nothing is hard-coded per currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.core import Locale
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    is_currency,
)


class MoneyError(ValueError):
    """A value a person typed cannot be a sum of money."""

    def __init__(self, message: str, places: int | None = None):
        super().__init__(message)
        self.places = places  # set when only the number of decimals was wrong


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
    def parse(cls, text: str, currency: str) -> Money:
        """'25', '25.5', '1,000.50' → Money. Refuses more decimals than the
        currency has, exponents, signs and anything that is not a number."""
        code = check_currency(currency)
        cleaned = (text or "").strip().replace(",", "").replace("\u00a0", "").replace(" ", "")
        if not cleaned or len(cleaned) > 20:
            raise MoneyError("not an amount")
        if not all(ch.isdigit() or ch == "." for ch in cleaned) or cleaned.count(".") > 1:
            raise MoneyError("not an amount")
        if not any(ch.isdigit() for ch in cleaned):
            raise MoneyError("not an amount")
        try:
            value = Decimal(cleaned)
        except InvalidOperation as exc:
            raise MoneyError("not an amount") from exc
        places = decimals(code)
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
            return format_currency(
                amount, self.currency, format=pattern.replace(".00", ""),
                locale=locale, currency_digits=False,
            )
        return format_currency(amount, self.currency, locale=locale)

    def symbol(self, locale: str = "en") -> str:
        return get_currency_symbol(self.currency, locale=locale)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise TypeError("can only add Money of the same currency")
        return Money(self.minor + other.minor, self.currency)

    def __str__(self) -> str:
        return self.format("en")
