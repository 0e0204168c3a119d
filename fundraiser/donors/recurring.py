"""A donor's own changes to their monthly or yearly gift, from the portal:
a new amount, a pause and a resume, another card. Each asks Stripe first
(payments/stripe_recurring.py says how, where localstripe falls short),
then changes our row, and says so in the audit log. Repeating an action
changes nothing more and writes nothing more.

Plain arguments and the session; flush, never commit. The caller holds no
row lock during the gateway call (the row is read, the call made, and the
change written with a conditional UPDATE)."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from ..donations import subscriptions
from ..donations.models import Subscription
from ..money import Money
from ..payments.gateway import CardDeclined, CardSetup
from ..payments.models import utcnow
from .services import audit_recurring

log = logging.getLogger(__name__)

# What an action did (the view turns it into words for the donor).
CHANGED, SAME, NOT_RUNNING = "changed", "same", "not running"


class NotResumed(Exception):
    """The card was declined when a gift whose period had ended started again."""

    def __init__(self, message: str | None):
        super().__init__(message or "declined")
        self.user_message = message


def _reference(sub: Subscription) -> str:
    return f"subscription-{sub.public_id}"


def _audit(session, sub: Subscription, action: str, **details) -> None:
    audit_recurring(session, sub, action, **details)


def changeable(sub: Subscription) -> bool:
    return sub.status in (subscriptions.ACTIVE, subscriptions.PAST_DUE) and bool(sub.gateway_id)


def change_amount(session, gateway, sub: Subscription, amount: Money) -> str:
    """Charge `amount` from the next payment on (nothing is charged now)."""
    if not changeable(sub):
        return NOT_RUNNING
    if amount.currency != sub.currency:
        raise ValueError("a recurring gift keeps its currency")
    if amount.minor == sub.amount_minor:
        return SAME
    old, sub_id = sub.amount_minor, sub.id
    gateway.change_subscription_amount(subscription_id=sub.gateway_id,
                                       amount_minor=amount.minor, reference=_reference(sub))
    session.execute(update(Subscription).where(Subscription.id == sub_id)
                    .values(amount_minor=amount.minor))
    _audit(session, sub, "amount", **{"from": old, "to": amount.minor,
                                      "currency": sub.currency, "interval": sub.interval})
    session.flush()
    log.info("subscription %s: amount %s → %s by the donor", sub_id, old, amount.minor)
    return CHANGED


def pause(session, gateway, sub: Subscription) -> str:
    """Nothing more is charged after the period already paid for."""
    if not changeable(sub):
        return NOT_RUNNING
    if sub.paused_at is not None:
        return SAME
    gateway.pause_subscription(sub.gateway_id)
    paused = session.execute(
        update(Subscription).where(Subscription.id == sub.id, Subscription.paused_at.is_(None))
        .values(paused_at=utcnow())).rowcount == 1
    if not paused:
        return SAME  # a second click got here first
    _audit(session, sub, "pause", interval=sub.interval)
    session.flush()
    log.info("subscription %s paused by the donor", sub.id)
    return CHANGED


def resume(session, gateway, sub: Subscription) -> str:
    """Running again: the same subscription when its period has not ended,
    else a new one at Stripe (charged now; that payment is recorded here
    like any instalment, and its webhook later finds it done)."""
    if not changeable(sub):
        return NOT_RUNNING
    # A double click: the second request waits here for the first's commit
    # (the row's lock; SQLite's transactions are serial anyway), then finds
    # the gift running. Without it, two clicks either side of a minute
    # boundary would carry two idempotency keys and start two subscriptions.
    session.scalars(select(Subscription).where(Subscription.id == sub.id).with_for_update()
                    .execution_options(populate_existing=True)).one()
    if sub.paused_at is None:
        return SAME
    # One Stripe subscription per resume (the same pause, the same minute);
    # a retry later (after a decline and another card) is a new request,
    # since Stripe replays a key's stored answer, declines included.
    attempt = f"{sub.paused_at:%Y%m%d%H%M%S%f}-{utcnow():%Y%m%d%H%M}"
    old_id, sub_id = sub.gateway_id, sub.id
    try:
        started = gateway.resume_subscription(subscription_id=old_id, reference=_reference(sub),
                                              attempt=attempt)
    except CardDeclined as exc:
        raise NotResumed(exc.user_message) from exc
    if started.subscription_id != old_id and started.status not in ("active", "trialing"):
        # Its first payment did not go through: nothing runs, the gift stays paused.
        gateway.cancel_subscription(started.subscription_id)
        raise NotResumed(None)
    resumed = session.execute(
        update(Subscription).where(Subscription.id == sub_id,
                                   Subscription.paused_at.is_not(None))
        .values(paused_at=None, gateway_id=started.subscription_id)).rowcount == 1
    if not resumed:
        return SAME
    _audit(session, sub, "resume", interval=sub.interval,
           new_subscription=started.subscription_id != old_id)
    session.flush()
    if started.subscription_id != old_id:
        invoice = gateway.latest_invoice(started.subscription_id)
        if invoice is not None and invoice.get("status") == "paid":
            subscriptions.record_paid_invoice(session, invoice)
    log.info("subscription %s resumed by the donor (%s)", sub_id, started.subscription_id)
    return CHANGED


def start_card_update(gateway, sub: Subscription) -> CardSetup | None:
    if not changeable(sub) or not sub.customer_id:
        return None
    return gateway.start_card_update(customer_id=sub.customer_id, reference=_reference(sub))


def finish_card_update(session, gateway, sub: Subscription, setup_id: str) -> CardSetup:
    """Ask Stripe whether the card was saved; if so it pays from now on."""
    setup = gateway.finish_card_update(setup_id=setup_id, customer_id=sub.customer_id)
    if setup.status == "succeeded":
        _audit(session, sub, "card", setup=setup.setup_id, last4=setup.card_last4 or "")
        # Receipts of the instalments from now on name this card ("Card" if unread).
        sub.card_brand, sub.card_last4 = setup.card_brand, setup.card_last4
        session.flush()
        log.info("subscription %s: the donor gave another card", sub.id)
    return setup
