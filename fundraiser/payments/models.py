import secrets
from datetime import UTC, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from . import states


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_status_list = ", ".join(f"'{s}'" for s in states.ALL)


class Payment(db.Model):
    """One row per attempt to move money; one PaymentIntent per row at most.

    `status` is written only by `services.transition_to()`.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= amount_minor", name="refund_bounds"
        ),
        CheckConstraint(f"status IN ({_status_list})", name="status_known"),
        Index("ix_payments_status_updated", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Random, so two databases (staging and production on one Stripe account,
    # or a test run after another) never claim each other's intents; it goes
    # into the intent's metadata and into idempotency keys.
    reference: Mapped[str] = mapped_column(
        String(32), unique=True, default=lambda: secrets.token_hex(16), nullable=False
    )
    status: Mapped[str] = mapped_column(String(24), default=states.CREATED, nullable=False)
    # The status before the last move, set by the same UPDATE (`SET
    # previous_status = status` reads the row as the move found it, under
    # its lock): one statement moves a payment and says where from.
    previous_status: Mapped[str | None] = mapped_column(String(24))
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    provider: Mapped[str] = mapped_column(String(16), default="stripe", nullable=False)
    intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(255))
    # The card as the receipt shows it ("Visa card ending 4242"), when the
    # gateway said; never more of the card than that.
    card_brand: Mapped[str | None] = mapped_column(String(24))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    succeeded_at: Mapped[datetime | None]

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.refunded_minor if self.status in states.COUNTED else 0

    def __repr__(self):
        return f"<Payment {self.id} {self.status} {self.amount_minor} {self.currency}>"


class WebhookEvent(db.Model):
    """Every event the gateway sent us, stored once by its id."""

    __tablename__ = "webhook_events"
    # Only the events waiting to be applied, in the order they are taken (a
    # worker's SKIP LOCKED pick, the scheduler's sweep): a handful of rows,
    # however many events were applied before; no entry to update when an
    # event is applied.
    __table_args__ = (Index("ix_webhook_events_waiting", "id",
                            postgresql_where=text("outcome = 'received'"),
                            sqlite_where=text("outcome = 'received'")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    payment_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    # received (stored, not applied yet) | applied | repeat | ignored | stale | unmatched
    # | mismatch | malformed | paused (a paused recurring gift's period ran out)
    outcome: Mapped[str] = mapped_column(String(16), default="received", nullable=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    # the request that stored it: the worker applying it logs under this id
    request_id: Mapped[str | None] = mapped_column(String(64))


class PaymentStatusChange(db.Model):
    """One move of a payment's status, written beside the move itself (by
    `services.transition_to()` and the submission claim), with what caused
    it: the gateway's answer to our call, a webhook event, reconcile, a staff
    member. `from_status` is empty for the status a payment had when this
    history began (payments older than the table)."""

    __tablename__ = "payment_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True,
                                            nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24), nullable=False)
    cause: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
