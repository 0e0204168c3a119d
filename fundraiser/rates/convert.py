"""Converting minor units between currencies: pure functions, no database.

Rates are Decimals: units of a currency per one euro (the ECB's form). A
cross rate from one currency to another is kept to RATE_DIGITS significant
digits and stored with the gift; the converted amount is computed from that
stored rate exactly and rounded **down** to the target's minor unit, so a
gift is never counted (or matched) for more than it brought. Decimal places
come from Babel (JPY 0, USD 2, KWD 3) through money.decimals()."""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

from ..money import decimals

RATE_DIGITS = 12
# Enough for any amount we take (≤ 20 digits) times a 12-digit rate, exactly.
_EXACT = Context(prec=60)
# What a sane reference rate can be (ECB rates run from ~0.3 to ~20,000).
MIN_RATE, MAX_RATE = Decimal("0.000001"), Decimal("10000000")


_PLAIN = re.compile(r"[0-9]+(\.[0-9]+)?")


class RateError(ValueError):
    pass


def read_rate(text) -> Decimal:
    """A rate as typed or as the ECB writes it ('1.0823'), or RateError: a
    plain positive decimal, no sign, exponent, NaN or infinity."""
    text = str(text or "").strip()
    if len(text) > 24 or not _PLAIN.fullmatch(text):  # ASCII digits only
        raise RateError("not a rate")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover — the checks above stop it
        raise RateError("not a rate") from exc
    if not MIN_RATE <= value <= MAX_RATE:
        raise RateError("rate out of range")
    return value


def cross_rate(per_euro_from: Decimal, per_euro_to: Decimal) -> Decimal:
    """Units of `to` for one unit of `from`, to RATE_DIGITS significant digits."""
    ctx = Context(prec=RATE_DIGITS, rounding=ROUND_HALF_EVEN)
    value = ctx.divide(per_euro_to, per_euro_from).normalize(ctx)
    if value.as_tuple().exponent > 0:  # 2E+2 → 200: stored and shown as plain text
        value = value.quantize(Decimal(1))
    return value


def convert_minor(minor: int, rate: Decimal, from_currency: str, to_currency: str) -> int:
    """`minor` units of `from_currency` in minor units of `to_currency` at
    `rate`, rounded down. Exact: no float, no intermediate rounding."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError("amounts are whole minor units")
    if minor < 0:
        raise ValueError("a negative amount is not converted")
    shift = decimals(to_currency) - decimals(from_currency)
    value = _EXACT.multiply(Decimal(minor), rate).scaleb(shift, _EXACT)
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def share_of(converted_minor: int, amount_minor: int, net_minor: int) -> int:
    """What is left of a converted amount after a refund, in proportion to
    what is left of the gift, rounded down (0 for a full refund)."""
    if amount_minor <= 0 or net_minor <= 0:
        return 0
    if net_minor >= amount_minor:
        return converted_minor
    return converted_minor * net_minor // amount_minor
