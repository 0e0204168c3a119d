import secrets
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..appeals.models import Appeal
from ..extensions import db
from ..money import Money
from ..payments.models import Payment, utcnow

# The address an erased donor's rows get (donor portal, erase-my-data):
# erased-<random>@erased.invalid. A reserved domain (RFC 2606): it reaches no one.
ERASED_EMAIL_DOMAIN = "erased.invalid"


def is_erased_email(email: str) -> bool:
    return (email or "").endswith("@" + ERASED_EMAIL_DOMAIN)


def new_public_id() -> str:
    return secrets.token_urlsafe(18)


_RECEIPT_WAITING = text("receipt_sent_at IS NULL AND erased_at IS NULL")


class Donation(db.Model):
    """A donor's gift to an appeal. Its money lives in the linked Payment,
    whose status says whether the gift counts."""

    __tablename__ = "donations"
    __table_args__ = (Index("ix_donations_appeal_created", "appeal_id", "created_at"),
                      Index("ux_donations_receipt_number", "receipt_number", unique=True),
                      # One gift per paid invoice of a monthly gift, however
                      # often its event arrives.
                      Index("ux_donations_invoice_id", "invoice_id", unique=True),
                      # The receipts waiting (receipts.waiting_receipts): a
                      # handful of rows beside the gifts not paid (yet).
                      Index("ix_donations_receipt_waiting", "payment_id",
                            postgresql_where=_RECEIPT_WAITING, sqlite_where=_RECEIPT_WAITING))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unguessable: the thank-you page is reached by it, without a login.
    public_id: Mapped[str] = mapped_column(
        String(32), unique=True, default=new_public_id, nullable=False
    )
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), nullable=False)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id"), unique=True, nullable=False
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    donor_name: Mapped[str] = mapped_column(String(120), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    display_name: Mapped[str] = mapped_column(String(80), default="", nullable=False)
    is_anonymous: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    comment: Mapped[str] = mapped_column(Text, default="", nullable=False)
    consent_contact: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    locale: Mapped[str] = mapped_column(String(8), default="en", nullable=False)
    source: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    receipt_sent_at: Mapped[datetime | None]
    # The donor erased their personal data (donor portal): name, email and
    # comment are gone; amounts, dates and payment stay for the accounts.
    erased_at: Mapped[datetime | None]
    # Sequential, never reused: given once, when the gift first succeeds
    # (receipt_numbers.assign), from the one counter row below.
    receipt_number: Mapped[int | None] = mapped_column(BigInteger)
    # An instalment of a monthly gift (subscriptions.py): which one, and the
    # gateway's invoice it paid (None for the first until its invoice is seen).
    subscription_id: Mapped[int | None] = mapped_column(Integer, index=True)
    invoice_id: Mapped[str | None] = mapped_column(String(255))
    # The share link (referrals.ReferralLink) this gift came through, set
    # when the gift is made and never changed; it changes no money.
    referral_link_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # A gift in another currency than its appeal's (issue 19): the rate
    # (appeal currency per unit of the gift's, as text) and the amount it
    # counts for in the appeal's currency, rounded down. Quoted when the gift
    # starts and fixed for good when it succeeds (`rate_fixed_at`): a later
    # change of the rate table never moves it. All three None for a gift in
    # the appeal's own currency.
    rate: Mapped[str | None] = mapped_column(String(32))
    rate_date: Mapped[date | None] = mapped_column(Date)
    converted_minor: Mapped[int | None] = mapped_column(BigInteger)
    rate_fixed_at: Mapped[datetime | None]

    appeal: Mapped[Appeal] = relationship()
    payment: Mapped[Payment] = relationship()

    @property
    def converted(self) -> Money | None:
        """What the gift counts for in the appeal's currency, when it differs."""
        if self.converted_minor is None or self.currency == self.appeal.currency:
            return None
        return Money(self.converted_minor, self.appeal.currency)

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def public_name(self) -> str | None:
        """What the public may see; None for an anonymous gift."""
        if self.is_anonymous or self.erased_at is not None:
            return None
        if self.display_name:
            return self.display_name
        return self.donor_name.split()[0] if self.donor_name.split() else None


SUBSCRIPTION_STATES = ("incomplete", "active", "past_due", "canceled")
# How often a recurring gift is charged: Stripe's plan intervals.
INTERVALS = ("month", "year")


class Subscription(db.Model):
    """A monthly (or yearly) gift: the gateway's Subscription, and the terms
    the donor agreed to. Each paid instalment is a Donation with
    `subscription_id`."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("status IN ('incomplete', 'active', 'past_due', 'canceled')",
                        name="status_known"),
        CheckConstraint("interval IN ('month', 'year')", name="interval_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(32), unique=True, default=new_public_id, nullable=False)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), default="incomplete", nullable=False)
    gateway_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(255))
    # The card its instalments are charged to, as receipts show it (set by
    # the first charge and by the donor's change of card; never more).
    card_brand: Mapped[str | None] = mapped_column(String(24))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    # The last invoice whose failure the donor was told about: told once.
    failed_invoice_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    canceled_at: Mapped[datetime | None]
    interval: Mapped[str] = mapped_column(String(8), default="month", server_default="month",
                                          nullable=False)
    # The donor paused it (donor portal): nothing is charged after the period
    # already paid for, until they resume. None while it runs.
    paused_at: Mapped[datetime | None]

    appeal: Mapped[Appeal] = relationship()

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def yearly(self) -> bool:
        return self.interval == "year"

    @property
    def running(self) -> bool:
        """Charging as agreed: started, not paused, not cancelled."""
        return self.status in ("active", "past_due") and self.paused_at is None


class ReceiptCounter(db.Model):
    """The last receipt number given (one row, id 1). Taken under a row lock
    (SELECT … FOR UPDATE semantics through UPDATE … RETURNING; on SQLite the
    write lock), so two gifts never get one number, and a rolled-back
    gift gives its number back with the rest of its transaction."""

    __tablename__ = "receipt_counters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)


class StatementSent(db.Model):
    """An annual statement queued for a donor email: one row per (email,
    year), so `send-statements YEAR` run twice sends nothing twice."""

    __tablename__ = "statements_sent"
    __table_args__ = (UniqueConstraint("email", "year", name="uq_statements_sent_email_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None]
