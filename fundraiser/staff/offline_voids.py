"""Voiding an offline gift: one entered in error, or a cheque that bounced.

The gift is not deleted: its payment is refunded in full through
payments.apply_refund_total, the one road every refund takes, so it stops
counting wherever counted gifts are summed (goal, API, dashboard, exports)
and any match it unlocked is reversed in the match ledger by the same
signal a card refund sends. Who voided it, when and why are kept on the
offline gift and in the audit log."""

from __future__ import annotations

from sqlalchemy import select

from ..donations.models import Donation
from ..payments import services as payments
from ..payments import states
from ..payments.models import Payment, utcnow
from ..text import has_control_characters
from .models import OfflineGift, StaffUser
from .services import audit

REASON_MAX = 500


class VoidError(ValueError):
    """The gift cannot be voided (the code says why; the view words it)."""


def void_offline_gift(session, donation_id: int, *, reason: str, actor: StaffUser,
                      ip: str = "") -> Donation:
    reason = (reason or "").strip()
    if not reason:
        raise VoidError("a reason is required")
    if len(reason) > REASON_MAX or has_control_characters(reason, multiline=True):
        raise VoidError("reason not accepted")
    donation = session.get(Donation, donation_id)
    offline = session.scalar(select(OfflineGift).where(OfflineGift.donation_id == donation_id)
                             .with_for_update()) if donation else None
    if offline is None:
        raise VoidError("not an offline gift")
    # The payment's row lock, as a refund takes it: one voider at a time.
    payment = session.scalar(select(Payment).where(Payment.id == donation.payment_id)
                             .with_for_update().execution_options(populate_existing=True))
    session.refresh(offline)
    if offline.voided_at is not None:
        raise VoidError("already voided")
    if payment.status not in states.COUNTED:
        raise VoidError("not counted")
    offline.voided_at = utcnow()
    offline.voided_by_id = actor.id
    offline.void_reason = reason
    session.flush()
    with payments.caused_by(f"offline gift voided by {actor.email}"):
        payments.apply_refund_total(session, payment.id, payment.amount_minor)
    audit(session, actor, "gift.offline_voided", "donation", donation.id, ip=ip,
          amount_minor=payment.amount_minor, currency=payment.currency, reason=reason)
    return donation
