"""Monthly (and yearly) gifts. A Subscription row holds the terms; every paid invoice is
one Donation (with its Payment) carrying `subscription_id` and `invoice_id`,
so it counts in the appeal and is matched like any gift (by the pools'
monthly rule). The first instalment is the donation made on the gift form:
its payment is the first invoice's PaymentIntent, so 3-D Secure, the
`payment_intent.*` webhooks and reconcile treat it like a one-time gift.

Invoice and subscription events reach us from payments through
`signals.gateway_event` (payments cannot import donations)."""

from __future__ import annotations

import logging

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from .. import signals
from ..appeals import services as appeals
from ..jobs import enqueue, send_email
from ..payments import services as payments
from ..payments import states
from ..payments.gateway import CardDeclined, GatewayError, IntentResult, MalformedEvent
from ..payments.models import Payment, utcnow
from .models import Donation, Subscription
from .services import gift_of

log = logging.getLogger(__name__)

INCOMPLETE, ACTIVE, PAST_DUE, CANCELED = "incomplete", "active", "past_due", "canceled"
MONTHLY, YEARLY, ONCE = "monthly", "yearly", "once"
# The gift form's frequency → Stripe's plan interval.
INTERVAL_OF = {MONTHLY: "month", YEARLY: "year"}


# -- starting one ------------------------------------------------------------

def start(session, donation: Donation, interval: str = "month") -> Subscription:
    """Make a just-started gift the first instalment of a monthly (or
    yearly) gift of the same amount. Nothing is sent to the gateway yet.
    Recurring gifts are in the appeal's own currency: each instalment would
    need a rate of its own, and one missing would leave a gift that cannot
    be counted."""
    if interval not in INTERVAL_OF.values():
        raise ValueError(f"unknown interval {interval!r}")
    if donation.currency != donation.appeal.currency:
        raise ValueError("recurring gifts are taken in the appeal's currency")
    sub = Subscription(appeal_id=donation.appeal_id, amount_minor=donation.amount_minor,
                       currency=donation.currency, email=donation.email, status=INCOMPLETE,
                       interval=interval)
    session.add(sub)
    session.flush()
    donation.subscription_id = sub.id
    session.flush()
    return sub


def charge_first(session, gateway, *, payment_id: int, subscription_id: int, reference: str,
                 amount_minor: int, currency: str, token: str, email: str, name: str,
                 description: str, interval: str = "month") -> IntentResult | None:
    """Set the monthly gift up at the gateway (its first invoice is charged at
    once) and record the first invoice's intent on the first instalment's
    payment, as `payments.charge_card` does for a one-time gift. Plain values
    in, no transaction open during the call. None when the card was declined."""
    try:
        started = gateway.start_subscription(
            reference=reference, amount_minor=amount_minor, currency=currency, token=token,
            email=email, name=name, description=description, interval=interval)
    except CardDeclined as exc:
        payments.transition_to(session, payment_id, states.FAILED,
                               failure_code=exc.code[:64],
                               failure_message=exc.user_message[:500])
        return None
    first = started.first_intent
    session.execute(update(Subscription).where(Subscription.id == subscription_id)
                    .values(gateway_id=started.subscription_id,
                            customer_id=started.customer_id,
                            card_brand=first.card_brand if first else None,
                            card_last4=first.card_last4 if first else None))
    if first is None:
        raise GatewayError(f"subscription {started.subscription_id} has no first intent")
    payments.record_intent(session, payment_id, first)
    return first


def interval_of(session, subscription_id: int) -> str:
    return session.scalar(select(Subscription.interval)
                          .where(Subscription.id == subscription_id)) or "month"


def status_label(status: str, paused: bool = False) -> str:
    if paused and status != CANCELED:
        return _("Paused")
    return {
        INCOMPLETE: _("Not started"), ACTIVE: _("Active"),
        PAST_DUE: _("Last payment did not go through"), CANCELED: _("Cancelled"),
    }.get(status, status)


def by_public_id(session, public_id: str) -> Subscription | None:
    if not public_id or len(public_id) > 32:
        return None
    return session.scalar(select(Subscription).where(Subscription.public_id == public_id))


def for_email(session, email: str) -> list[Subscription]:
    return list(session.scalars(
        # One whose first instalment never went through is no monthly gift yet.
        select(Subscription).where(Subscription.email == email,
                                   Subscription.gateway_id.is_not(None),
                                   Subscription.status != INCOMPLETE)
        .order_by(Subscription.id.desc())))


def cancel(session, gateway, sub: Subscription) -> bool:
    """Cancel at the gateway, then here. True if it was running."""
    if sub.status == CANCELED:
        return False
    if sub.gateway_id:
        gateway.cancel_subscription(sub.gateway_id)
    return _end(session, sub.id)


def _end(session, subscription_id: int) -> bool:
    return session.execute(
        update(Subscription).where(Subscription.id == subscription_id,
                                   Subscription.status != CANCELED)
        .values(status=CANCELED, canceled_at=utcnow())).rowcount == 1


def first_donation(session, subscription_id: int) -> Donation | None:
    return session.scalar(select(Donation).where(Donation.subscription_id == subscription_id)
                          .order_by(Donation.id).limit(1))


# -- events ------------------------------------------------------------------

def _sub_id_of(obj: dict) -> str | None:
    """The subscription of an invoice: `subscription` in older API versions,
    `parent.subscription_details.subscription` in newer ones."""
    found = obj.get("subscription")
    if isinstance(found, dict):
        found = found.get("id")
    if not found:
        parent = obj.get("parent")
        details = parent.get("subscription_details") if isinstance(parent, dict) else None
        found = details.get("subscription") if isinstance(details, dict) else None
    return found if isinstance(found, str) and found else None


def _locked(session, gateway_id: str | None) -> Subscription | None:
    if not gateway_id:
        return None
    return session.scalar(select(Subscription).where(Subscription.gateway_id == gateway_id)
                          .with_for_update().execution_options(populate_existing=True))


def on_gateway_event(sender, event, session, **_kw):
    """Apply an invoice or subscription event; None for events not ours."""
    obj = event.object
    if event.type == "invoice.payment_succeeded":
        return _invoice_paid(session, obj)
    if event.type == "invoice.payment_failed":
        return _invoice_failed(session, obj)
    if event.type == "customer.subscription.deleted":
        if not isinstance(obj.get("id"), str):
            raise MalformedEvent("subscription without an id")
        sub = _locked(session, obj["id"])
        if sub is None:
            return None, "unmatched"
        if sub.paused_at is not None and sub.status != CANCELED:
            # A paused gift's period ran out (a pause is cancel-at-period-end,
            # see payments/stripe_recurring.py): it stays paused, and resuming
            # starts a new subscription.
            return None, "paused"
        return None, "applied" if _end(session, sub.id) else "repeat"
    return None


def _invoice_fields(obj: dict) -> tuple[str, str | None, int, str]:
    invoice_id, intent_id = obj.get("id"), obj.get("payment_intent")
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    amount, currency = obj.get("amount_paid"), obj.get("currency")
    if not (isinstance(invoice_id, str) and invoice_id and isinstance(currency, str)
            and isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0
            and (intent_id is None or isinstance(intent_id, str))):
        raise MalformedEvent("invoice without a usable id, amount, currency or intent")
    return invoice_id[:255], intent_id, amount, currency.upper()


def record_paid_invoice(session, obj: dict):
    """A paid invoice read from the gateway (a resumed gift's first one), as
    its webhook would apply it; never taken for the gift's first instalment."""
    return _invoice_paid(session, obj, renewal_only=True)


def _invoice_paid(session, obj: dict, renewal_only: bool = False):
    invoice_id, intent_id, amount, currency = _invoice_fields(obj)
    sub = _locked(session, _sub_id_of(obj))
    if sub is None:
        return None, "unmatched"  # applied again once our row knows its intent
    seen = session.scalar(select(Donation.payment_id).where(Donation.invoice_id == invoice_id))
    if seen is not None:
        return seen, "repeat"
    first = first_donation(session, sub.id)
    if first is None:
        return None, "unmatched"
    if not renewal_only and first.invoice_id is None and (intent_id == first.payment.intent_id
                                     or obj.get("billing_reason") == "subscription_create"):
        # The first instalment: the gift made on the form.
        first.invoice_id = invoice_id
        session.flush()
        payments.transition_to(session, first.payment_id, states.SUCCEEDED)
        _set_status(session, sub.id, ACTIVE)
        return first.payment_id, "applied"
    if amount <= 0:
        return None, "ignored"  # nothing was paid (a zero invoice)
    if currency != sub.currency:
        log.error("invoice %s: %s %s for subscription %s in %s",
                  invoice_id, amount, currency, sub.id, sub.currency)
        return None, "mismatch"
    if intent_id and session.scalar(select(Payment.id).where(Payment.intent_id == intent_id)):
        intent_id = None  # already ours under another row: never claim it twice
    payment = payments.create_payment(session, amount, currency)
    # Charged to the subscription's card, so the receipt can name it.
    payment.card_brand, payment.card_last4 = sub.card_brand, sub.card_last4
    if intent_id:
        payment.intent_id = intent_id
        payment.customer_id = sub.customer_id
    renewal = Donation(
        appeal_id=sub.appeal_id, payment_id=payment.id, amount_minor=amount,
        currency=currency, donor_name=first.donor_name, email=first.email,
        display_name=first.display_name, is_anonymous=first.is_anonymous, comment="",
        consent_contact=first.consent_contact, locale=first.locale, source=first.source,
        subscription_id=sub.id, invoice_id=invoice_id, erased_at=first.erased_at,
        referral_link_id=first.referral_link_id)  # a monthly gift stays the link's
    session.add(renewal)
    session.flush()
    # Counted, matched and receipted by the payment_succeeded listeners.
    payments.transition_to(session, payment.id, states.SUCCEEDED)
    _set_status(session, sub.id, ACTIVE)
    if intent_id:
        payments.apply_pending_events(session, intent_id)
    log.info("subscription %s: instalment %s paid (invoice %s)", sub.id, renewal.id, invoice_id)
    return payment.id, "applied"


def _invoice_failed(session, obj: dict):
    invoice_id, intent_id, _amount, _currency = _invoice_fields(obj)
    sub = _locked(session, _sub_id_of(obj))
    if sub is None:
        return None, "unmatched"
    if sub.status in (INCOMPLETE, CANCELED):
        # The first instalment failing is the one-time flow's (the donor is on
        # the card page); a canceled gift has nothing left to fail.
        return None, "ignored"
    if session.scalar(select(Donation.id).where(Donation.invoice_id == invoice_id)):
        return None, "stale"  # that invoice was paid after all
    told = session.execute(
        update(Subscription).where(
            Subscription.id == sub.id,
            or_(Subscription.failed_invoice_id.is_(None),
                Subscription.failed_invoice_id != invoice_id))
        .values(status=PAST_DUE, failed_invoice_id=invoice_id)).rowcount == 1
    if not told:
        return None, "repeat"
    _mail_failure(session, sub)
    return None, "applied"


def _set_status(session, subscription_id: int, status: str) -> None:
    session.execute(update(Subscription).where(Subscription.id == subscription_id,
                                               Subscription.status != CANCELED)
                    .values(status=status))


def _mail_failure(session, sub: Subscription) -> None:
    first = first_donation(session, sub.id)
    if first is None or first.erased_at is not None:
        return
    title = appeals.text_for(session, sub.appeal, first.locale).title
    portal = current_app.config.get("APP_URL", "").rstrip("/") + "/my-gifts"
    with force_locale(first.locale):
        amount = sub.amount.format(first.locale)
        body = render_template("donations/instalment_failed.txt", name=first.donor_name,
                               title=title, amount=amount, portal=portal,
                               yearly=sub.interval == "year")
        subject = (_("Your yearly gift to %(title)s did not go through", title=title)
                   if sub.interval == "year" else
                   _("Your monthly gift to %(title)s did not go through", title=title))
    enqueue(send_email, str(subject), body, [first.email],
            f"instalment failed, subscription {sub.id}")


def on_payment_succeeded(sender, payment_id: int, session, **_kw):
    """The first instalment went through (by the card page or a webhook):
    the monthly gift is running."""
    gift = gift_of(session, payment_id)
    sub_id = gift.donation.subscription_id if gift is not None else None
    if sub_id is not None:
        session.execute(update(Subscription).where(Subscription.id == sub_id,
                                                   Subscription.status == INCOMPLETE)
                        .values(status=ACTIVE))


def connect():
    signals.gateway_event.connect(on_gateway_event)
    signals.payment_succeeded.connect(on_payment_succeeded)
