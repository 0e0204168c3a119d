"""Matching listens to payments through here: donations know which appeal,
donor and share link a payment belongs to, and hand matching plain facts
(matching sits below donations and cannot look them up itself)."""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy import Row, exists, select

from .. import signals
from ..matching import card_pledges, rules
from ..matching import ledger as match_ledger
from ..matching import services as matching
from ..payments import states
from ..payments.models import Payment, utcnow
from .models import Donation, Subscription
from .services import fix_rate, gift_and_pools, gift_of, net_in_appeal_currency

log = logging.getLogger(__name__)

# States in which a payment once was a real gift (for "first-time donor").
_EVER_GIVEN = (*states.COUNTED, states.REFUNDED, states.DISPUTED, states.DISPUTE_LOST)


def gift_facts(session, donation: Donation | Row, net_minor: int, at,
               currency: str | None = None) -> rules.Gift:
    return dataclasses.replace(
        _gift(donation, net_minor, at, currency, _is_monthly(session, donation)),
        is_first_time=_first_time(session, donation, at))


def _gift(donation: Donation | Row, net_minor: int, at, currency: str | None,
          monthly: bool) -> rules.Gift:
    return rules.Gift(amount_minor=net_minor, currency=currency or donation.currency, at=at,
                      email=donation.email, is_monthly=monthly)


def _first_time(session, donation: Donation | Row, at) -> bool:
    """No earlier gift of this donor's (by email) was ever a real gift."""
    return not session.scalar(select(exists().where(
        Donation.email == donation.email, Donation.id != donation.id,
        Donation.payment_id == Payment.id, Payment.status.in_(_EVER_GIVEN),
        Payment.succeeded_at.is_not(None), Payment.succeeded_at <= at)))


def _is_monthly(session, donation: Donation | Row) -> bool:
    """An instalment of a monthly gift. A yearly gift's instalment is already
    a year of giving: the pools' monthly rule (×12) does not apply to it, and
    it is matched once, like a one-time gift (matching/rules.py)."""
    if donation.subscription_id is None:
        return False
    interval = session.scalar(select(Subscription.interval)
                              .where(Subscription.id == donation.subscription_id))
    return interval != "year"


def _allocate(session, payment_id: int, reason: str, moved=None,
              fix: bool = False) -> tuple[Row | None, int | None]:
    """Match the gift. Returns its row (as `gift_of`; None for a pledge's own
    money or a payment without one) and what it matched when that is known
    without asking (0 when nothing could match it, the draw when it drew),
    else None. `moved`: the payment's figures as its move read them
    (payments.moves.Moved). The gift, its appeal's pools and what it holds
    matched already are one query. `fix`: the gift's rate is fixed first
    (fix_rate), so the match and the receipt use the figure it gives."""
    gift, pools, matched = gift_and_pools(session, payment_id)
    donation = fix_rate(session, payment_id) if fix else gift and gift.donation
    if (gift is None or gift.funds_pledge) \
            and matching.activate_pledge_funded_by(session, payment_id) is not None:
        return None, None  # the pledger's own money, given to be unlocked by friends
    if gift is None:
        return None, None
    # Pools (and pledges) are in the appeal's currency: a gift in another is
    # matched on its converted amount, rounded down, stored with the gift.
    currency = gift.currency
    sources = match_ledger.sources_of(session, appeal_id=donation.appeal_id,
                                      pledge_code=donation.source or None, pools=pools,
                                      matched_minor=matched)
    if sources is None:
        return donation, 0  # nothing could match it
    if moved is None:
        moved = session.execute(
            select(Payment.amount_minor, Payment.refunded_minor, Payment.currency,
                   Payment.succeeded_at).where(Payment.id == payment_id)).one()
    amount, refunded, paid_currency, at = (moved.amount_minor, moved.refunded_minor,
                                           moved.currency, moved.succeeded_at)
    net = amount - refunded
    paid = (net, paid_currency) if paid_currency != currency else None
    entries = match_ledger.allocate(
        session, appeal_id=donation.appeal_id, payment_id=payment_id,
        gift=_gift(donation, net_in_appeal_currency(donation, net, currency),
                   at or utcnow(), currency, _is_monthly(session, donation)),
        first_time=lambda: _first_time(session, donation, at or utcnow()),
        sources=sources, reason=reason, paid=paid)
    if not entries:
        return donation, None  # matched before, or nothing to draw: the receipt asks
    matched_minor = sum(e.amount_minor for e in entries)
    log.info("payment %s matched %s", payment_id, matched_minor)
    return donation, matched_minor


def on_succeeded(sender, payment_id: int, session, moved=None, **_kw):
    donation, matched_minor = _allocate(session, payment_id, "gift", moved, fix=True)
    # The receipt says what the gift unlocked, so it is sent after the
    # allocation, here; blinker does not promise an order among receivers.
    from .receipts import send_pledge_charge_receipt, send_receipt

    if donation is None:   # a pledge's own money, or a payment of no gift
        pledge = matching.pledge_funded_by(session, payment_id)
        if pledge is not None and pledge.charge_payment_id == payment_id:
            send_pledge_charge_receipt(session, pledge)
            return
    send_receipt(session, payment_id, matched_minor=matched_minor)


def on_reinstated(sender, payment_id: int, session, moved=None, **_kw):
    _allocate(session, payment_id, "dispute_won", moved=moved)


def on_refunded(sender, payment_id: int, session, amount_minor: int = 0, **_kw):
    if match_ledger.withdraw_pledge_funded_by(session, payment_id, "pledge_withdrawn"):
        return
    net, _currency = match_ledger.payment_net(session, payment_id)
    gift = gift_of(session, payment_id)
    if gift is not None:  # matches are in the appeal's currency; so is the basis
        net = net_in_appeal_currency(gift.donation, net, gift.currency)
    match_ledger.reverse(session, payment_id, net, "refund")


def on_disputed(sender, payment_id: int, session, **_kw):
    if match_ledger.withdraw_pledge_funded_by(session, payment_id, "pledge_withdrawn"):
        return
    match_ledger.reverse(session, payment_id, 0, "dispute")


def on_failed(sender, payment_id: int, session, **_kw):
    # A pledge's own payment failed (its pay-now gift, or the closing charge of
    # a saved card, e.g. given up by reconcile): it matches nothing any more.
    # Not a closing charge waiting for the pledger's bank, though: a failed
    # authentication leaves it waiting, and the pledger may try again.
    if card_pledges.awaits_authentication(session, payment_id):
        log.info("payment %s: authentication failed; the pledge still waits", payment_id)
        return
    match_ledger.withdraw_pledge_funded_by(session, payment_id, "pledge_withdrawn")


def connect():
    # Connected before receipts, so a receipt can say what the gift unlocked.
    signals.payment_succeeded.connect(on_succeeded)
    signals.payment_reinstated.connect(on_reinstated)
    signals.payment_refunded.connect(on_refunded)
    signals.payment_disputed.connect(on_disputed)
    signals.payment_failed.connect(on_failed)
