"""Reference exchange rates, based on the euro as the ECB publishes them:
`rate` units of `currency` buy one euro. One row per currency and day; the
latest day is the current rate. A gift stores the rate it used, so changing
this table never moves a gift already counted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..payments.models import utcnow

BASE = "EUR"
SOURCE_ECB, SOURCE_STAFF = "ecb", "staff"


class ExchangeRate(db.Model):
    __tablename__ = "exchange_rates"
    __table_args__ = (UniqueConstraint("currency", "rate_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # A decimal as text ('1.0823'): exact, and no float or driver Decimal
    # conversion on any database. Read it with `.value`.
    rate: Mapped[str] = mapped_column(String(32), nullable=False)
    rate_date: Mapped[date] = mapped_column(Date, nullable=False)
    source: Mapped[str] = mapped_column(String(16), default=SOURCE_STAFF, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(254), default="", nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    @property
    def value(self) -> Decimal:
        return Decimal(self.rate)
