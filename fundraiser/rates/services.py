"""The rate table: the current rate of a currency, a staff member setting
one, importing the ECB's file, and quoting a conversion. Services flush,
never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from ..limits import DEFAULT as DEFAULT_LIMITS
from ..limits import Limits
from ..payments.models import utcnow
from . import ecb
from .convert import RateError, convert_minor, cross_rate, read_rate
from .models import BASE, SOURCE_ECB, SOURCE_STAFF, ExchangeRate


@dataclass(frozen=True)
class Quote:
    """How a sum in one currency is counted in another, and from which day's rates."""

    from_currency: str
    to_currency: str
    rate: Decimal           # units of `to` per unit of `from`
    rate_date: date | None  # None for the same currency

    def convert(self, minor: int) -> int:
        if self.from_currency == self.to_currency:
            return minor
        return convert_minor(minor, self.rate, self.from_currency, self.to_currency)


def current_rates(session, codes=None) -> dict[str, ExchangeRate]:
    """{currency: its latest rate row}, for `codes` or every currency."""
    latest = select(ExchangeRate.currency, func.max(ExchangeRate.rate_date).label("day")) \
        .group_by(ExchangeRate.currency)
    if codes is not None:
        latest = latest.where(ExchangeRate.currency.in_(list(codes)))
    latest = latest.subquery()
    rows = session.scalars(select(ExchangeRate).join(
        latest, (ExchangeRate.currency == latest.c.currency)
        & (ExchangeRate.rate_date == latest.c.day)).order_by(ExchangeRate.currency))
    return {r.currency: r for r in rows}


def _per_euro(rows: dict[str, ExchangeRate], code: str) -> tuple[Decimal, date | None] | None:
    if code == BASE:
        return Decimal(1), None
    row = rows.get(code)
    return (row.value, row.rate_date) if row is not None else None


def quote(session, from_currency: str, to_currency: str) -> Quote | None:
    """The conversion at today's rates, or None when a rate is missing:
    never a guess."""
    if from_currency == to_currency:
        return Quote(from_currency, to_currency, Decimal(1), None)
    rows = current_rates(session, {from_currency, to_currency} - {BASE})
    a, b = _per_euro(rows, from_currency), _per_euro(rows, to_currency)
    if a is None or b is None:
        return None
    days = [d for d in (a[1], b[1]) if d is not None]
    return Quote(from_currency, to_currency, cross_rate(a[0], b[0]), min(days))


def convertible(session, codes, to_currency: str) -> set[str]:
    """Which of `codes` can be converted into `to_currency` now."""
    codes = set(codes)
    have = set(current_rates(session, (codes | {to_currency}) - {BASE})) | {BASE}
    if to_currency not in have:
        return {to_currency} & codes
    return {c for c in codes if c in have} | ({to_currency} & codes)


def _put(session, currency: str, rate: Decimal, day: date, source: str, by: str):
    row = session.scalar(select(ExchangeRate).where(ExchangeRate.currency == currency,
                                                    ExchangeRate.rate_date == day))
    if row is None:
        row = ExchangeRate(currency=currency, rate_date=day)
        session.add(row)
    row.rate, row.source, row.updated_by, row.updated_at = str(rate), source, by, utcnow()
    return row


def set_rate(session, currency: str, rate_text: str, day: date, by: str = "",
             limits: Limits = DEFAULT_LIMITS) -> ExchangeRate:
    """A staff member sets one currency's rate per euro for a day (RateError,
    LimitError for a currency the app does not take)."""
    code = limits.check_currency(currency)
    if code == BASE:
        raise RateError("the euro is the base")
    row = _put(session, code, read_rate(rate_text), day, SOURCE_STAFF, by[:254])
    session.flush()
    return row


def import_ecb(session, data: bytes | str, by: str = "") -> ecb.EcbRates:
    """Store every rate of an ECB file, under its date (EcbFormatError, and
    nothing stored, when the file is not one)."""
    parsed = ecb.parse(data, today=utcnow().date())
    for code, rate in sorted(parsed.rates.items()):
        _put(session, code, rate, parsed.day, SOURCE_ECB, by[:254])
    session.flush()
    return parsed
