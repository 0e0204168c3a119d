"""Gifts that arrive outside the payment service (cheque, bank transfer,
cash), recorded by staff or invented by `demo-gifts`.

Services take the session and plain values, flush, and never commit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import update

from ..appeals.models import Appeal
from ..donations.models import Donation
from ..donations.services import gift_quote
from ..limits import DEFAULT as DEFAULT_LIMITS
from ..limits import Limits
from ..money import Money
from ..payments import services as payments
from ..payments import states
from ..payments.models import Payment, utcnow
from .models import OFFLINE_METHODS, OfflineGift, StaffUser
from .services import StaffError, audit


def record_offline_gift(session, *, appeal: Appeal, amount: Money, name: str, email: str,
                        method: str, received_on: date, note: str = "", source: str = "",
                        actor: StaffUser | None, ip: str = "", is_demo: bool = False,
                        created_at: datetime | None = None,
                        limits: Limits = DEFAULT_LIMITS) -> Donation:
    """A cheque, bank transfer or cash gift: a Donation and a Payment with
    provider "offline", moved to succeeded through transition_to() so it is
    counted (and matched, and receipted) like a card gift.

    In any currency the appeal accepts: the rate and the converted amount
    (rounded down) are quoted now and fixed when the payment succeeds, just
    below, exactly as a card gift's are. CurrencyRefused (nothing stored) for
    a currency the appeal does not take or has no rate for."""
    if method not in OFFLINE_METHODS:
        raise StaffError("unknown method")
    found = gift_quote(session, appeal, amount.currency)  # CurrencyRefused
    if amount.minor <= 0:
        raise StaffError("the amount must be positive")
    limits.check(amount)  # LimitError: no figure past the ceiling is ever summed
    if not (name or "").strip():
        raise StaffError("a name is required")
    payment = payments.create_payment(session, amount.minor, amount.currency)
    session.execute(update(Payment).where(Payment.id == payment.id)
                    .values(provider="offline"))
    donation = Donation(
        appeal_id=appeal.id, payment_id=payment.id, amount_minor=amount.minor,
        currency=amount.currency, donor_name=name.strip()[:120],
        email=(email or "").strip().lower()[:254], is_anonymous=False,
        locale=appeal.language if appeal.language in ("en", "he") else "en",
        source=(source or "").strip()[:64], created_at=created_at or utcnow(),
        # Demo rows never send a receipt to their invented addresses.
        receipt_sent_at=utcnow() if is_demo else None,
    )
    if amount.currency != appeal.currency:  # as start_donation(); fix_rate() fixes it
        donation.rate, donation.rate_date = str(found.rate), found.rate_date
        donation.converted_minor = found.convert(amount.minor)
    session.add(donation)
    session.flush()
    session.add(OfflineGift(donation_id=donation.id, method=method, received_on=received_on,
                            note=(note or "").strip()[:500], is_demo=is_demo,
                            entered_by_id=actor.id if actor else None))
    session.flush()
    by = actor.email if actor else "command line"
    with payments.caused_by(f"offline gift entered by {by}"):
        payments.transition_to(session, payment.id, states.SUCCEEDED)
    if created_at is not None:
        session.execute(update(Payment).where(Payment.id == payment.id)
                        .values(created_at=created_at, succeeded_at=created_at))
    if not is_demo:
        # In another currency, what it counts as (fixed at success, just above).
        counted = {} if amount.currency == appeal.currency else dict(
            counted_minor=donation.converted_minor, counted_currency=appeal.currency,
            rate=donation.rate, rate_date=str(donation.rate_date))
        audit(session, actor, "gift.offline_recorded", "donation", donation.id, ip=ip,
              amount_minor=amount.minor, currency=amount.currency, method=method,
              appeal=appeal.slug, **counted)
    return donation
