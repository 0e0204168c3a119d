"""Saved-card pledges: the pledger's card is saved now (SetupIntent) and
charged once, off-session, when the appeal closes, for exactly what friends
unlocked. A declined charge withdraws the pledge and reverses its unlocks.
A charge the pledger's bank wants confirmed (3-D Secure, `requires_action`
off-session) leaves the pledge closed and waiting for them: they are asked
once, by a link whose token only they have, and it is charged when the
intent succeeds.

Services take the session and flush; they never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import func, select, update

from ..payments import services as payments
from ..payments import states
from ..payments.gateway import CardDeclined, CardSetup
from ..payments.models import Payment, utcnow
from .ledger import lock_remaining, withdraw_pledge
from .models import (
    CARD_SAVED,
    PLEDGE_ACTIVE,
    PLEDGE_CLOSED,
    PLEDGE_LAPSED,
    PLEDGE_PENDING,
    MatchEntry,
    MatchPledge,
)
from .services import expire_row


def record_card_setup(session, pledge_id: int, setup: CardSetup) -> bool:
    """Store what the gateway said about the card being saved. True when the
    card is saved and the pledge is now active."""
    values = {"setup_id": setup.setup_id, "customer_id": setup.customer_id}
    if setup.client_secret:
        values["setup_client_secret"] = setup.client_secret
    if setup.status == "succeeded" and setup.payment_method_id:
        values["payment_method_id"] = setup.payment_method_id
    session.execute(update(MatchPledge).where(MatchPledge.id == pledge_id)
                    .values(**values).execution_options(synchronize_session=False))
    activated = False
    if "payment_method_id" in values:
        activated = session.execute(
            update(MatchPledge).where(MatchPledge.id == pledge_id,
                                      MatchPledge.status == PLEDGE_PENDING)
            .values(status=PLEDGE_ACTIVE, setup_client_secret=None)
            .execution_options(synchronize_session=False)).rowcount == 1
    expire_row(session, MatchPledge, pledge_id)
    return activated


def card_pledges_due(session, now: datetime, appeal_id: int | None = None,
                     force: bool = False) -> list[int]:
    """Active saved-card pledges whose appeal has closed (or all of one
    appeal's, with force)."""
    from sqlalchemy import text as sql_text

    q = select(MatchPledge.id).where(MatchPledge.mode == CARD_SAVED,
                                     MatchPledge.status == PLEDGE_ACTIVE)
    if appeal_id is not None:
        q = q.where(MatchPledge.appeal_id == appeal_id)
    if not force:
        closed = sql_text("SELECT id FROM appeals WHERE status = 'closed' "
                          "OR (ends_at IS NOT NULL AND ends_at <= :now)").bindparams(now=now)
        q = q.where(MatchPledge.appeal_id.in_(closed))
    return list(session.scalars(q.order_by(MatchPledge.id)))


def close_card_pledge(session, pledge_id: int) -> int:
    """Stop a saved-card pledge matching and prepare the charge for exactly
    what it unlocked. Returns that amount (0: nothing to charge). The charge
    itself is `charge_closed_pledge`, after a commit, outside any lock."""
    lock_remaining(session, MatchPledge, pledge_id)
    pledge = session.get(MatchPledge, pledge_id, populate_existing=True)
    if pledge.mode != CARD_SAVED or pledge.status != PLEDGE_ACTIVE:
        return 0
    unlocked = int(session.scalar(select(func.coalesce(func.sum(MatchEntry.amount_minor), 0))
                                  .where(MatchEntry.pledge_id == pledge_id)))
    values = {"status": PLEDGE_CLOSED}
    if unlocked > 0:
        payment = payments.create_payment(session, unlocked, pledge.currency)
        payments.claim_for_submission(session, payment.id)
        values["charge_payment_id"] = payment.id
    session.execute(update(MatchPledge).where(MatchPledge.id == pledge_id).values(**values)
                    .execution_options(synchronize_session=False))
    expire_row(session, MatchPledge, pledge_id)
    return unlocked


def charge_closed_pledge(session, gateway, pledge_id: int) -> str:
    """Charge a closed pledge's saved card off-session. Returns the payment's
    status. A declined card withdraws the pledge: its unlocks are reversed."""
    pledge = session.get(MatchPledge, pledge_id, populate_existing=True)
    if pledge.charge_payment_id is None:
        return "nothing"
    payment = session.get(Payment, pledge.charge_payment_id, populate_existing=True)
    if payment.status != states.PROCESSING or payment.intent_id:
        return payment.status
    try:
        result = gateway.charge_saved_card(
            reference=payment.reference, attempt=1, amount_minor=payment.amount_minor,
            currency=payment.currency, customer_id=pledge.customer_id,
            payment_method_id=pledge.payment_method_id)
    except CardDeclined as exc:
        payments.transition_to(session, payment.id, states.FAILED,
                               failure_code=exc.code[:64], failure_message=exc.user_message[:500])
        withdraw_pledge(session, pledge, "pledge_withdrawn")
        return states.FAILED
    payments.record_intent(session, payment.id, result)
    session.refresh(payment)
    if payment.status == states.FAILED:
        withdraw_pledge(session, pledge, "pledge_withdrawn")
    return payment.status


def claim_charge_receipt(session, pledge_id: int) -> bool:
    """True exactly once per pledge: whoever gets True sends the receipt for
    the saved card's closing charge."""
    result = session.execute(
        update(MatchPledge).where(MatchPledge.id == pledge_id,
                                  MatchPledge.charge_payment_id.is_not(None),
                                  MatchPledge.charge_receipt_sent_at.is_(None))
        .values(charge_receipt_sent_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount == 1


# -- a closing charge the pledger's bank wants confirmed (3-D Secure) ------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_authentication(session, pledge_id: int) -> str | None:
    """The closing charge waits for the pledger's bank: mark the pledge
    waiting, with a new link token. Returns the token the first time only
    (whoever gets it asks the pledger, once); None when they were asked
    already or nothing waits."""
    return _new_link(session, pledge_id, MatchPledge.auth_requested_at.is_(None),
                     auth_requested_at=utcnow())


def renew_authentication(session, pledge_id: int) -> str | None:
    """A new link for a pledger who was asked and has not confirmed yet (the
    mail was lost, or they ask staff again): the old link stops working.
    Returns the new token, or None when the charge no longer waits."""
    return _new_link(session, pledge_id, MatchPledge.auth_requested_at.is_not(None))


def remind_authentication(session, pledge_id: int) -> str | None:
    """A new link for the one reminder a waiting pledger gets (the old link
    stops working). The token the first time only; None afterwards, or when
    the charge no longer waits."""
    return _new_link(session, pledge_id,
                     MatchPledge.auth_requested_at.is_not(None)
                     & MatchPledge.auth_reminded_at.is_(None),
                     auth_reminded_at=utcnow())


def to_remind(session, asked_before: datetime) -> list[int]:
    """Pledges whose closing charge has waited for the pledger's bank since
    before `asked_before`, and whose pledger was not reminded yet."""
    return list(session.scalars(_charges_waiting().where(
        MatchPledge.auth_reminded_at.is_(None), MatchPledge.auth_requested_at <= asked_before)))


def _new_link(session, pledge_id: int, asked, **values) -> str | None:
    """Give a closed pledge whose charge waits for 3-D Secure a new link
    token, when `asked` holds (one conditional UPDATE: of two at once, one
    wins). The token, or None."""
    token = secrets.token_urlsafe(32)
    waiting = select(Payment.id).where(Payment.id == MatchPledge.charge_payment_id,
                                       Payment.status == states.REQUIRES_ACTION).exists()
    result = session.execute(
        update(MatchPledge)
        .where(MatchPledge.id == pledge_id, MatchPledge.status == PLEDGE_CLOSED, asked, waiting)
        .values(auth_token_hash=token_hash(token), **values)
        .execution_options(synchronize_session=False))
    expire_row(session, MatchPledge, pledge_id)
    return token if result.rowcount == 1 else None


def for_appeal(session, appeal_id: int) -> list[tuple[MatchPledge, Payment | None]]:
    """An appeal's pledges, newest first, each with its closing charge (if
    it has one) — what staff see on the pledges page."""
    return list(session.execute(
        select(MatchPledge, Payment).outerjoin(Payment, Payment.id == MatchPledge.charge_payment_id)
        .where(MatchPledge.appeal_id == appeal_id)
        .order_by(MatchPledge.created_at.desc(), MatchPledge.id.desc())).all())


def charges_never_asked(session) -> list[int]:
    """Closed pledges whose charge waits for 3-D Secure but whose pledger was
    never asked (the run that charged them stopped before it could, or
    reconcile learnt the intent later)."""
    return list(session.scalars(_charges_waiting().where(
        MatchPledge.auth_requested_at.is_(None))))


def _charges_waiting(charge_states=(states.REQUIRES_ACTION,)):
    """Closed pledges whose closing charge waits for 3-D Secure, by id."""
    return (select(MatchPledge.id).join(Payment, Payment.id == MatchPledge.charge_payment_id)
            .where(MatchPledge.status == PLEDGE_CLOSED, Payment.status.in_(charge_states))
            .order_by(MatchPledge.id))


# -- a closing charge that waited too long lapses --------------------------------

def to_lapse(session, asked_before: datetime) -> list[int]:
    """Pledges whose closing charge has waited for the pledger's bank since
    they were asked, before `asked_before`. A charge already canceled at the
    gateway (a lapse that stopped half-way, then reconciled) counts too."""
    return list(session.scalars(
        _charges_waiting((states.REQUIRES_ACTION, states.CANCELED))
        .where(MatchPledge.auth_requested_at <= asked_before)))


def charge_intent(session, pledge_id: int) -> str | None:
    """The gateway's id for a pledge's closing charge."""
    return session.scalar(select(Payment.intent_id).join(
        MatchPledge, MatchPledge.charge_payment_id == Payment.id).where(
        MatchPledge.id == pledge_id))


def lapse(session, pledge_id: int) -> bool:
    """The closing charge was canceled at the gateway: cancel it here, and
    the pledge lapses — it matches nothing any more, its unlocks reversed as
    after a declined charge — and its link stops working. True the first
    time only (whoever gets it tells the pledger)."""
    lock_remaining(session, MatchPledge, pledge_id)
    pledge = session.get(MatchPledge, pledge_id, populate_existing=True)
    if pledge.status != PLEDGE_CLOSED or pledge.charge_payment_id is None:
        return False
    payment = session.get(Payment, pledge.charge_payment_id, populate_existing=True)
    if payment.status not in (states.REQUIRES_ACTION, states.CANCELED):
        return False
    payments.transition_to(session, payment.id, states.CANCELED)
    withdraw_pledge(session, pledge, "pledge_withdrawn", status=PLEDGE_LAPSED)
    session.execute(update(MatchPledge).where(MatchPledge.id == pledge_id)
                    .values(auth_token_hash=None).execution_options(synchronize_session=False))
    expire_row(session, MatchPledge, pledge_id)
    return True


def pledge_for_token(session, token: str | None) -> MatchPledge | None:
    """The pledge whose closing charge this link was sent for (waiting, or
    charged since: see `waits_for_pledger`), or None for an unknown token."""
    if not token or len(token) > 100:
        return None
    return session.scalar(select(MatchPledge).where(
        MatchPledge.auth_token_hash == token_hash(token),
        MatchPledge.status == PLEDGE_CLOSED))


def _waiting():
    return (MatchPledge.auth_token_hash.is_not(None)
            & select(Payment.id).where(Payment.id == MatchPledge.charge_payment_id,
                                       Payment.succeeded_at.is_(None)).exists())


def waits_for_pledger(session, pledge_id: int) -> bool:
    """The closing charge waits for the pledger to confirm it with their bank
    (asked, and not charged yet)."""
    return session.scalar(select(MatchPledge.id).where(
        MatchPledge.id == pledge_id, _waiting())) is not None


def awaits_authentication(session, payment_id: int) -> bool:
    """True when this payment is a closing charge waiting for the pledger's bank."""
    return session.scalar(select(MatchPledge.id).where(
        MatchPledge.charge_payment_id == payment_id, _waiting())) is not None
