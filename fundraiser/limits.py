"""What the app accepts as a sum of money: the currencies it knows and the
largest amount any one stored figure may be (a gift, goal, pool cap, limit,
pledge or refund). A mistyped 92233720368547758.07 is refused here rather
than stored, summed into an overflow and taken out on every page that adds
it up.

`Limits` is plain data: the app builds one from its config
(MAX_AMOUNT_MAJOR, CURRENCIES) and passes it to services, which default to
DEFAULT so a service called without one still refuses the absurd."""

from __future__ import annotations

from dataclasses import dataclass

from .money import Money, MoneyError, check_currency

# The largest figure, in major units of its currency, unless config says less.
MAX_AMOUNT_MAJOR = 10_000_000
# Far beyond any gift, far below what a 64-bit sum of many such figures holds.
HARD_MAX_MAJOR = 10**12
# Currencies a new appeal (and so its pools, gifts and pledges) may use.
CURRENCIES = ("USD", "EUR", "GBP", "ILS", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK",
              "PLN", "CZK", "JPY", "ZAR", "BRL", "MXN", "INR", "JOD", "BHD", "KWD", "AED",
              "EGP", "TRY")

# LimitError codes
UNKNOWN_CURRENCY = "unknown currency"
TOO_LARGE = "too large"
NOT_POSITIVE = "not positive"


class LimitError(MoneyError):
    """An amount or currency outside what the app takes (code in str())."""

    def __init__(self, code: str, largest: Money | None = None):
        super().__init__(code, kind=code)
        self.largest = largest


@dataclass(frozen=True)
class Limits:
    max_amount_major: int = MAX_AMOUNT_MAJOR
    currencies: tuple[str, ...] = CURRENCIES

    @classmethod
    def from_config(cls, config) -> Limits:
        """From app config; refuses (at start-up) a ceiling that is not a
        whole number from 1 to HARD_MAX_MAJOR, or an unknown currency code."""
        top = config.get("MAX_AMOUNT_MAJOR", MAX_AMOUNT_MAJOR)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= HARD_MAX_MAJOR:
            raise ValueError(f"MAX_AMOUNT_MAJOR must be a whole number from 1 to "
                             f"{HARD_MAX_MAJOR}, not {top!r}")
        codes = tuple(check_currency(c) for c in config.get("CURRENCIES") or CURRENCIES)
        return cls(max_amount_major=top, currencies=codes)

    def largest(self, currency: str) -> Money:
        return Money.from_major(self.max_amount_major, currency)

    def check_currency(self, currency: str) -> str:
        code = (currency or "").strip().upper()
        if code not in self.currencies:
            raise LimitError(UNKNOWN_CURRENCY)
        return code

    def check_minor(self, minor: int, currency: str, *, positive: bool = True) -> int:
        """`minor` if it is a whole number no larger than the ceiling (and
        more than zero when `positive`), else LimitError."""
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise TypeError("amounts are whole minor units")
        largest = self.largest(currency)
        if minor > largest.minor:
            raise LimitError(TOO_LARGE, largest)
        if minor < 0 or (positive and minor == 0):
            raise LimitError(NOT_POSITIVE, largest)
        return minor

    def check(self, money: Money, *, positive: bool = True) -> Money:
        self.check_minor(money.minor, money.currency, positive=positive)
        return money


DEFAULT = Limits()


def current() -> Limits:
    """The running app's limits (for views and commands, never services)."""
    from flask import current_app

    return current_app.extensions.get("fundraiser.limits", DEFAULT)
