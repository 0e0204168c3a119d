"""Match pools, friend pledges and the append-only match ledger.

The ledger (`MatchEntry`) is the truth: every movement of matching money is a
new row, an allocation (+X) or a reversal (−X, `reverses_id` pointing at the
allocation it undoes). Rows that belong to one event (one gift matched by a
pledge and two pools, or the reversal of all of them) share a `group_id`.
Nothing is ever edited: the ORM refuses updates and deletes, and so does the
database (triggers, see the migration). `remaining_minor` on a pool or pledge
is a counter kept beside the ledger so that many donors can draw at once with
a row lock; `cap − remaining == Σ ledger` is checked by the tests.

Appeals and payments are referenced by table name only: matching sits below
appeals and donations and imports neither.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..money import Money
from ..payments.models import utcnow

ALLOCATION, REVERSAL = "allocation", "reversal"
MONTHLY_ONCE, MONTHLY_X12 = "once", "x12"
PAY_NOW, CARD_SAVED = "pay_now", "card_saved"
# A pledge is `pending` until its money (or saved card) is secured, then `active`;
# `withdrawn` when that money went back (refund or dispute of its payment, or a
# declined charge of the saved card); a saved-card pledge is `closed` when the
# appeal ends and it is charged for what was unlocked; `lapsed` when that
# closing charge waited PLEDGE_LAPSE_AFTER_DAYS for the pledger's bank (3-D
# Secure) and was given up: like `withdrawn`, it matches nothing any more.
PLEDGE_PENDING, PLEDGE_ACTIVE = "pending", "active"
PLEDGE_WITHDRAWN, PLEDGE_CLOSED = "withdrawn", "closed"
PLEDGE_LAPSED = "lapsed"


def new_code() -> str:
    return secrets.token_urlsafe(9)


class MatchPool(db.Model):
    """A sponsor's promise: ratio_match for every ratio_gift given, up to cap."""

    __tablename__ = "match_pools"
    __table_args__ = (
        CheckConstraint("ratio_match > 0 AND ratio_gift > 0", name="ratio_positive"),
        CheckConstraint("cap_minor > 0", name="cap_positive"),
        CheckConstraint("remaining_minor >= 0 AND remaining_minor <= cap_minor",
                        name="remaining_bounds"),
        CheckConstraint("per_gift_limit_minor IS NULL OR per_gift_limit_minor > 0",
                        name="per_gift_limit_positive"),
        CheckConstraint("min_gift_minor >= 0", name="min_gift_nonnegative"),
        CheckConstraint("monthly_rule IN ('once', 'x12')", name="monthly_rule_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True, nullable=False)
    sponsor_name: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    is_anonymous: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    ratio_match: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    ratio_gift: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    cap_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    remaining_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    per_gift_limit_minor: Mapped[int | None] = mapped_column(BigInteger)
    min_gift_minor: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    first_time_only: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    monthly_rule: Mapped[str] = mapped_column(String(8), default=MONTHLY_ONCE, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    @property
    def ratio(self) -> str:
        return f"{self.ratio_match}:{self.ratio_gift}"

    @property
    def allocated_minor(self) -> int:
        return self.cap_minor - self.remaining_minor

    @property
    def cap(self) -> Money:
        return Money(self.cap_minor, self.currency)

    def __repr__(self):
        return f"<MatchPool {self.id} {self.ratio} {self.remaining_minor}/{self.cap_minor}>"


class MatchPledge(db.Model):
    """A donor's promise to match friends who give through their link, 1:1."""

    __tablename__ = "match_pledges"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("remaining_minor >= 0 AND remaining_minor <= amount_minor",
                        name="remaining_bounds"),
        CheckConstraint("mode IN ('pay_now', 'card_saved')", name="mode_known"),
        CheckConstraint("status IN ('pending', 'active', 'withdrawn', 'closed', 'lapsed')",
                        name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, default=new_code, nullable=False)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), index=True, nullable=False)
    pledger_name: Mapped[str] = mapped_column(String(80), nullable=False)
    pledger_email: Mapped[str] = mapped_column(String(254), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    remaining_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    mode: Mapped[str] = mapped_column(String(12), default=PAY_NOW, nullable=False)
    status: Mapped[str] = mapped_column(String(12), default=PLEDGE_PENDING, nullable=False)
    # pay_now: the payment that gives the pledge in full; it activates the pledge.
    funding_payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id"), unique=True)
    # The pledger's own gift that came first (their thank-you page made the pledge).
    origin_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    # card_saved: the SetupIntent and the card it saved, and the payment that
    # charges exactly what was unlocked when the appeal closes.
    customer_id: Mapped[str | None] = mapped_column(String(255))
    setup_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    setup_client_secret: Mapped[str | None] = mapped_column(String(255))
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    charge_payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id"), unique=True)
    # Set once, by whoever sends the receipt for the closing charge.
    charge_receipt_sent_at: Mapped[datetime | None]
    # The closing charge needed the pledger's bank (3-D Secure off-session):
    # when they were asked (once), and the SHA-256 of their link's token. It
    # waits for them until the charge succeeds; then the link is used up.
    auth_requested_at: Mapped[datetime | None]
    # Reminded once (a new link) when the charge still waited days later.
    auth_reminded_at: Mapped[datetime | None]
    auth_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    @property
    def allocated_minor(self) -> int:
        return self.amount_minor - self.remaining_minor

    @property
    def shown_name(self) -> str:
        """The name pages show: an erased pledger (donor portal) is anonymous."""
        from flask_babel import gettext

        return self.pledger_name or gettext("Anonymous")


class MatchEntry(db.Model):
    """One row of the append-only match ledger. Signed amount: an allocation
    is positive, a reversal negative; a balance is a SUM."""

    __tablename__ = "match_ledger"
    __table_args__ = (
        CheckConstraint("(pool_id IS NULL) <> (pledge_id IS NULL)", name="one_source"),
        CheckConstraint(
            "(kind = 'allocation' AND amount_minor > 0 AND reverses_id IS NULL) OR "
            "(kind = 'reversal' AND amount_minor < 0 AND reverses_id IS NOT NULL)",
            name="sign_matches_kind"),
        Index("ix_match_ledger_payment", "payment_id"),
        Index("ix_match_ledger_appeal", "appeal_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[str] = mapped_column(String(32), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id"), nullable=False)
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("match_pools.id"), index=True)
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("match_pledges.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # Allocation: the gift's net amount when it was matched; refunds reverse
    # in proportion to it (rules.kept_after_refund). 0 on reversal rows.
    basis_minor: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    # A gift in another currency is matched on its amount converted into the
    # pool's (rounded down; basis_minor): the gift as paid, in its own
    # currency, is kept beside it. None when the gift was in this currency.
    paid_minor: Mapped[int | None] = mapped_column(BigInteger)
    paid_currency: Mapped[str | None] = mapped_column(String(3))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("match_ledger.id"))
    reason: Mapped[str] = mapped_column(String(24), default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)


class LedgerIsAppendOnly(Exception):
    pass


@event.listens_for(MatchEntry, "before_update")
def _refuse_update(_mapper, _conn, target):
    raise LedgerIsAppendOnly(f"match ledger row {target.id} cannot be changed; "
                             "write a reversal instead")


@event.listens_for(MatchEntry, "before_delete")
def _refuse_delete(_mapper, _conn, target):
    raise LedgerIsAppendOnly(f"match ledger row {target.id} cannot be deleted; "
                             "write a reversal instead")
