"""Refunds staff make through the payment service: reserve under the
payment's row lock, call the gateway, record the answer; and settle, from the
gateway's own list, a refund left pending when the process died mid-way.

Services take the session and plain values, flush, and never commit: the
view or command around them commits once. None touches request or app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..donations.models import Donation
from ..payments import services as payments
from ..payments import states
from ..payments.gateway import RefundResult
from ..payments.models import Payment, utcnow
from .models import StaffRefund, StaffUser
from .services import audit


class RefundError(ValueError):
    pass


def refund_key(reference: str, number: int) -> str:
    """Idempotency key for the gateway: our payment reference + refund count."""
    return f"fundraiser-{reference}-refund-{number}"


def refundable_minor(session, payment: Payment) -> int:
    rows = session.execute(
        select(StaffRefund.status, func.coalesce(func.sum(StaffRefund.amount_minor), 0))
        .where(StaffRefund.payment_id == payment.id,
               StaffRefund.status.in_(("pending", "succeeded")))
        .group_by(StaffRefund.status)
    ).all()
    sums = {status: int(total) for status, total in rows}
    done = max(payment.refunded_minor, sums.get("succeeded", 0))
    return max(0, payment.amount_minor - done - sums.get("pending", 0))


def begin_refund(session, *, donation: Donation, amount_minor: int, reason: str,
                 actor: StaffUser, ip: str = "") -> StaffRefund:
    """Reserve a refund under the payment's row lock. The caller commits,
    then calls the gateway with refund_key(), then finish_refund/fail_refund."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundError("a reason is required")
    # Row lock (FOR UPDATE on PostgreSQL; on SQLite the write lock, taken for it).
    payment = session.scalar(select(Payment).where(Payment.id == donation.payment_id)
                             .with_for_update().execution_options(populate_existing=True))
    if payment.provider != "stripe" or not payment.intent_id:
        raise RefundError("only card gifts can be refunded through the payment service")
    if payment.status not in states.COUNTED:
        raise RefundError("only a succeeded gift can be refunded")
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise RefundError("the amount must be positive")
    available = refundable_minor(session, payment)
    if amount_minor > available:
        raise RefundError("more than is left to refund")
    number = 1 + session.scalar(select(func.count()).select_from(StaffRefund)
                                .where(StaffRefund.payment_id == payment.id))
    refund = StaffRefund(payment_id=payment.id, number=number, amount_minor=amount_minor,
                         reason=reason[:500], status="pending", staff_user_id=actor.id)
    session.add(refund)
    session.flush()
    audit(session, actor, "refund.requested", "donation", donation.id, ip=ip,
          refund_id=refund.id, amount_minor=amount_minor, currency=payment.currency,
          reason=reason[:500])
    return refund


def finish_refund(session, refund_id: int, gateway_refund_id: str, actor: StaffUser | None,
                  ip: str = "", **details) -> int:
    """The gateway accepted the refund: record it and move the payment's
    refund total (exactly once: apply_refund_total is idempotent, and the
    charge.refunded webhook reports the same total)."""
    refund = session.get(StaffRefund, refund_id)
    refund.status = "succeeded"
    refund.gateway_refund_id = gateway_refund_id
    session.flush()
    total = session.scalar(
        select(func.coalesce(func.sum(StaffRefund.amount_minor), 0))
        .where(StaffRefund.payment_id == refund.payment_id, StaffRefund.status == "succeeded"))
    with payments.caused_by(f"refund by {actor.email}" if actor else None):
        delta = payments.apply_refund_total(session, refund.payment_id, int(total))
    donation = session.scalar(select(Donation).where(Donation.payment_id == refund.payment_id))
    audit(session, actor, "refund.succeeded", "donation", donation.id if donation else "",
          ip=ip, refund_id=refund.id, amount_minor=refund.amount_minor,
          gateway_refund_id=gateway_refund_id, **details)
    return delta


def fail_refund(session, refund_id: int, error: str, actor: StaffUser | None, ip: str = "",
                **details) -> None:
    refund = session.get(StaffRefund, refund_id)
    refund.status = "failed"
    refund.error = (error or "")[:500]
    session.flush()
    donation = session.scalar(select(Donation).where(Donation.payment_id == refund.payment_id))
    audit(session, actor, "refund.failed", "donation", donation.id if donation else "", ip=ip,
          refund_id=refund.id, error=refund.error, **details)


# A refund still pending this long after it was reserved was cut off between
# the gateway and our commit: the gateway call itself gives up within about a
# minute (20 s timeout, two retries).
REFUND_SETTLE_AFTER = timedelta(minutes=5)


# The gateway's statuses for a refund that will not happen; any other
# (succeeded, pending, requires_action) counts, as it does when staff refund.
_REFUND_NOT_MADE = ("failed", "canceled")


# StaffRefund.error when reconcile fails a refund (the staff page words them).
REFUND_NOT_AT_GATEWAY = "the payment service has no such refund"


REFUND_NOT_MADE = "the payment service did not make this refund"


@dataclass(frozen=True)
class StuckRefund:
    refund_id: int
    intent_id: str


def stuck_refunds(session, older_than: timedelta = REFUND_SETTLE_AFTER,
                  now: datetime | None = None) -> list[StuckRefund]:
    """Refunds left `pending` longer than `older_than`, whatever their age:
    the process died after reserving them (before, during or after the
    gateway call) and no one recorded the outcome."""
    cutoff = (now or utcnow()) - older_than
    rows = session.execute(
        select(StaffRefund.id, Payment.intent_id)
        .join(Payment, Payment.id == StaffRefund.payment_id)
        .where(StaffRefund.status == "pending", StaffRefund.created_at < cutoff)
        .order_by(StaffRefund.id)
    ).all()
    return [StuckRefund(refund_id, intent_id) for refund_id, intent_id in rows]


def settle_stuck_refund(session, refund_id: int,
                        gateway_refunds: list[RefundResult]) -> tuple[str, str]:
    """Finish a stuck refund from the gateway's list of the payment's refunds.
    Returns (outcome, detail): ("succeeded", gateway refund id): recorded, and
    the payment's total and match ledger move through apply_refund_total, so
    exactly once whatever charge.refunded does; ("failed", why): the gateway
    has no such refund, the reserved amount is free again; ("unchanged", "")
    when someone settled it first. Audited as done by the command line."""
    payment_id = session.scalar(select(StaffRefund.payment_id)
                                .where(StaffRefund.id == refund_id))
    if payment_id is None:
        raise LookupError(f"no refund {refund_id}")
    # The payment's row lock, as begin_refund takes it: one settler at a time.
    payment = session.scalar(select(Payment).where(Payment.id == payment_id)
                             .with_for_update().execution_options(populate_existing=True))
    refund = session.get(StaffRefund, refund_id, populate_existing=True)
    if refund.status != "pending":
        return "unchanged", ""
    found = _gateway_refund_of(session, refund, refund_key(payment.reference, refund.number),
                               gateway_refunds)
    if found is not None and found.status not in _REFUND_NOT_MADE:
        finish_refund(session, refund.id, found.refund_id, None, via="reconcile")
        return "succeeded", found.refund_id
    if found is None:
        fail_refund(session, refund.id, REFUND_NOT_AT_GATEWAY, None, via="reconcile")
        return "failed", REFUND_NOT_AT_GATEWAY
    fail_refund(session, refund.id, REFUND_NOT_MADE, None, via="reconcile",
                gateway_refund_id=found.refund_id, gateway_status=found.status)
    return "failed", f"{REFUND_NOT_MADE}: {found.refund_id} {found.status}"


def _gateway_refund_of(session, refund: StaffRefund, key: str,
                       gateway_refunds: list[RefundResult]) -> RefundResult | None:
    for candidate in gateway_refunds:
        if candidate.key == key:
            return candidate
    # Refunds sent before the key went into their metadata: one of the same
    # amount, without a key, that no other refund of ours has claimed.
    claimed = set(session.scalars(select(StaffRefund.gateway_refund_id).where(
        StaffRefund.payment_id == refund.payment_id,
        StaffRefund.gateway_refund_id.is_not(None))))
    for candidate in gateway_refunds:
        if (candidate.key is None and candidate.amount_minor == refund.amount_minor
                and candidate.refund_id not in claimed):
            return candidate
    return None
