"""Money movement. Services take the session and a gateway, flush, and never
commit: the request, CLI command or webhook view around them commits once.
A payment's status moves in moves.py (`transition_to` and `caused_by` are
used from here, as `payments.transition_to`)."""

from __future__ import annotations

import json
import logging

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .. import signals
from . import states
from .gateway import CardDeclined, GatewayEvent, IntentResult, MalformedEvent
from .models import Payment, WebhookEvent, utcnow
from .moves import caused_by, locked_status, record_change, transition_to
from .stripe_gateway import intent_from_event_object, is_count

log = logging.getLogger(__name__)


class AlreadySubmitted(Exception):
    """This payment was sent to the gateway before; it is never sent twice."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


def create_payment(session, amount_minor: int, currency: str, flush: bool = True) -> Payment:
    payment = Payment(amount_minor=amount_minor, currency=currency, status=states.CREATED)
    session.add(payment)
    if flush:  # else its gift's flush writes both (payment= on the gift, no id needed)
        session.flush()
    return payment


def claim_for_submission(session, payment_id: int) -> None:
    """created → processing, atomically. A second submit (double click, two
    tabs, a replayed request) finds it taken and gets AlreadySubmitted: one
    PaymentIntent per payment row, never two."""
    now = utcnow()
    result = session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status == states.CREATED)
        .values(status=states.PROCESSING, updated_at=now)
    )
    if result.rowcount != 1:
        status = session.scalar(select(Payment.status).where(Payment.id == payment_id))
        if status is None:
            raise LookupError(f"no payment {payment_id}")
        raise AlreadySubmitted(status)
    with caused_by("card submitted"):
        record_change(session, payment_id, states.CREATED, states.PROCESSING, now)


def charge_card(session, gateway, *, payment_id: int, reference: str, amount_minor: int,
                currency: str, token: str, email: str, name: str,
                description: str) -> IntentResult | None:
    """Send a claimed payment to the gateway and record what it answered.
    Takes plain values, so no database transaction is open (and, on SQLite,
    no write lock held) while the gateway is called. Returns the gateway's
    answer (with the client secret for 3-D Secure), or None when the card was
    declined (the payment is then `failed`)."""
    try:
        result = gateway.charge_card(
            reference=reference, attempt=1, amount_minor=amount_minor, currency=currency,
            token=token, email=email, name=name, description=description,
        )
    except CardDeclined as exc:
        transition_to(session, payment_id, states.FAILED, failure_code=exc.code[:64],
                      failure_message=exc.user_message[:500])
        return None
    record_intent(session, payment_id, result)
    return result


def record_intent(session, payment_id: int, result: IntentResult) -> str:
    """Store the gateway's intent id on our row and apply its status. Events
    that arrived before we knew the intent id are applied now. The card the
    answer names is kept even when the intent's webhook came first (it
    taught us the intent id, but a webhook does not name the card)."""
    said = {"intent_id": result.intent_id}  # what the answer says; nothing it left out
    if result.customer_id:
        said["customer_id"] = result.customer_id
    if result.card_last4:
        said.update(card_brand=result.card_brand, card_last4=result.card_last4)
    session.execute(
        update(Payment)
        .where(Payment.id == payment_id, or_(Payment.intent_id.is_(None),
                                            Payment.intent_id == result.intent_id))
        .values(**said)
    )
    known = session.scalar(select(Payment.intent_id).where(Payment.id == payment_id))
    if known != result.intent_id:
        log.error("payment %s has intent %s, gateway answered %s",
                  payment_id, known, result.intent_id)
        return "mismatch"
    outcome = apply_intent_status(session, payment_id, result)
    apply_pending_events(session, result.intent_id)
    return outcome


def apply_intent_status(session, payment_id: int, result: IntentResult) -> str:
    fields = {}
    if result.status == states.FAILED:
        fields = {"failure_code": (result.failure_code or "payment_failed")[:64],
                  "failure_message": (result.failure_message
                                      or "The payment was not completed.")[:500]}
    try:
        changed = transition_to(session, payment_id, result.status, **fields)
    except states.IllegalTransition as exc:
        # An older state reported late (out-of-order delivery): nothing to do.
        log.info("payment %s: ignored stale %s (%s)", payment_id, result.status, exc)
        return "stale"
    return "applied" if changed else "repeat"


def refresh_from_gateway(session, gateway, payment_id: int) -> str:
    """Ask the gateway for the intent's real state and apply it; never the
    browser's word alone."""
    intent_id = session.scalar(select(Payment.intent_id).where(Payment.id == payment_id))
    if not intent_id:
        return "no-intent"
    return apply_intent_status(session, payment_id, gateway.retrieve(intent_id))


# -- refunds and disputes -----------------------------------------------------

def apply_refund_total(session, payment_id: int, refunded_total: int) -> int:
    """The gateway says `refunded_total` of this payment has been refunded so
    far. Returns the newly refunded amount (0 for a repeat or an older report)."""
    locked_status(session, payment_id)
    payment = session.get(Payment, payment_id, populate_existing=True)
    refunded_total = min(int(refunded_total), payment.amount_minor)
    if refunded_total <= payment.refunded_minor:
        return 0
    new_status = (states.REFUNDED if refunded_total >= payment.amount_minor
                  else states.PARTIALLY_REFUNDED)
    # A refund made before a dispute may be reported after it (Stripe keeps
    # no order): the money is back with the donor all the same, so it is
    # recorded, and the status stays with the dispute.
    in_dispute = payment.status in (states.DISPUTED, states.DISPUTE_LOST)
    if not in_dispute:
        states.check_transition(payment.status, new_status)  # raises before writing anything
    delta = refunded_total - payment.refunded_minor
    session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.refunded_minor < refunded_total)
        .values(refunded_minor=refunded_total, updated_at=utcnow())
    )
    if not in_dispute:
        transition_to(session, payment_id, new_status)
    session.refresh(payment)
    signals.payment_refunded.send(None, payment_id=payment_id, amount_minor=delta,
                                  session=session)
    return delta


# -- webhooks -----------------------------------------------------------------

RECEIVED = "received"  # stored, not applied yet

_INTENT_EVENTS = {
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
    "payment_intent.processing", "payment_intent.requires_action",
}


def _insert_event_once(session, event: GatewayEvent, object_id: str | None,
                       request_id: str | None) -> bool:
    values = dict(event_id=event.id, type=event.type[:64], object_id=object_id,
                  payload=event.raw or json.dumps({"id": event.id, "type": event.type,
                                                   "data": {"object": event.object}}),
                  outcome=RECEIVED, received_at=utcnow(), request_id=request_id)
    stmt = _INSERT_ONCE[session.get_bind().dialect.name]  # values as parameters: compiled once
    return session.execute(stmt, values).scalar() is not None


# The table, not the entity: a Core INSERT skips the ORM's bulk-insert
# machinery (a third of an acknowledgement's CPU).
_INSERT_ONCE = {name: insert(WebhookEvent.__table__).on_conflict_do_nothing(
    index_elements=["event_id"]).returning(WebhookEvent.__table__.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}


def _event_object_id(event: GatewayEvent) -> str | None:
    obj = event.object
    found = obj.get("id") if event.type.startswith("payment_intent.") else obj.get(
        "payment_intent")
    return found[:255] if isinstance(found, str) else None


def ingest_event(session, event: GatewayEvent) -> str:
    """Store a verified event once and apply it in the same transaction.
    Returns the outcome:
    duplicate | applied | repeat | stale | unmatched | mismatch | ignored | malformed."""
    if store_event(session, event) == "duplicate":
        return "duplicate"
    return apply_stored_event(session, event.id) or "duplicate"


def store_event(session, event: GatewayEvent, request_id: str | None = None) -> str:
    """Store a verified event once, not yet applied, with the id of the
    request that brought it. Returns `new`, `pending` (stored before and not
    applied yet: a lost job's event, worth queueing again) or `duplicate`
    (already applied)."""
    if _insert_event_once(session, event, _event_object_id(event), request_id):
        return "new"
    outcome = session.scalar(select(WebhookEvent.outcome)
                             .where(WebhookEvent.event_id == event.id))
    return "pending" if outcome == RECEIVED else "duplicate"


def apply_stored_event(session, event_id: str) -> str | None:
    """Apply a stored event that nobody has applied yet. The row is locked
    and must still be `received`, so two workers given the same event apply
    it once: the second waits for the first's commit, then finds it done
    (None). Safe to run any number of times."""
    row = session.scalar(
        select(WebhookEvent)
        .where(WebhookEvent.event_id == event_id, WebhookEvent.outcome == RECEIVED)
        .with_for_update()
    )
    return None if row is None else apply_event_row(session, row)


def take_waiting_event(session, skip=()) -> WebhookEvent | None:
    """The oldest event stored and not applied, locked, but for those in
    `skip` (row ids) and those another worker holds (SKIP LOCKED, on
    PostgreSQL; SQLite has one writer at a time). Apply it with
    `apply_event_row` in the same transaction."""
    query = select(WebhookEvent).where(WebhookEvent.outcome == RECEIVED)
    if skip:
        query = query.where(WebhookEvent.id.not_in(list(skip)))
    return session.scalar(query.order_by(WebhookEvent.id).limit(1)
                          .with_for_update(skip_locked=True))


def apply_event_row(session, row: WebhookEvent) -> str:
    """Apply a stored event whose row this transaction has locked while it
    was still `received`; returns its outcome."""
    event = _stored_event(row)
    with caused_by(_event_cause(event)):
        try:
            payment_id, outcome = _apply_event(session, event)
        except MalformedEvent as exc:
            # Authentic but unusable: kept for a person to read, acknowledged
            # (a retry would bring the same bytes), never applied.
            log.error("event %s (%s) is malformed: %s", event.id, event.type, exc)
            payment_id, outcome = None, "malformed"
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == row.id, WebhookEvent.outcome == RECEIVED)
        .values(outcome=outcome, payment_id=payment_id)
    )
    return outcome


def _stored_event(row: WebhookEvent) -> GatewayEvent:
    data = json.loads(row.payload)
    return GatewayEvent(id=row.event_id, type=row.type, created=int(data.get("created") or 0),
                        object=(data.get("data") or {}).get("object") or {}, raw=row.payload)


def _event_cause(event: GatewayEvent) -> str:
    return f"webhook {event.type} {event.id}"


def _find_payment(session, intent_id: str | None, reference: str | None) -> Payment | None:
    payment = None
    if reference:
        payment = session.scalar(select(Payment).where(Payment.reference == reference))
        if payment is not None and payment.intent_id not in (None, intent_id):
            return None
    if payment is None and intent_id:
        payment = session.scalar(select(Payment).where(Payment.intent_id == intent_id))
    return payment


def _apply_event(session, event: GatewayEvent) -> tuple[int | None, str]:
    obj = event.object
    if event.type in _INTENT_EVENTS:
        result = intent_from_event_object(obj)
        payment = _find_payment(session, result.intent_id, result.reference)
        if payment is None:
            return None, "unmatched"
        payment_id = payment.id  # the move expires `payment`: no reload to learn its id
        if (payment.amount_minor, payment.currency) != (result.amount_minor, result.currency):
            log.error("event %s: amount %s %s does not match payment %s",
                      event.id, result.amount_minor, result.currency, payment_id)
            return payment_id, "mismatch"
        learned = payment.intent_id is None and session.execute(
            update(Payment).where(Payment.id == payment_id, Payment.intent_id.is_(None))
            .values(intent_id=result.intent_id)
        ).rowcount == 1  # an intent id once known is never cleared: no round trip then
        outcome = apply_intent_status(session, payment_id, result)
        if learned:
            # A refund or dispute that came before anything told us this
            # intent id was stored as unmatched; it is ours now.
            apply_pending_events(session, result.intent_id)
        return payment_id, outcome

    intent_id = _event_object_id(event)
    if event.type == "charge.refunded":
        payment = _find_payment(session, intent_id, None)
        if payment is None:
            return None, "unmatched"
        refunded = obj.get("amount_refunded") or 0
        if not is_count(refunded):
            raise MalformedEvent("charge.refunded without a usable amount_refunded")
        stop = _charge_went_through(session, payment, event, exact_amount=True)
        if stop:
            return payment.id, stop
        try:
            delta = apply_refund_total(session, payment.id, refunded)
        except states.IllegalTransition:
            return payment.id, "stale"
        return payment.id, "applied" if delta else "repeat"

    if event.type in ("charge.dispute.created", "charge.dispute.closed"):
        payment = _find_payment(session, intent_id, None)
        if payment is None:
            return None, "unmatched"
        stop = _charge_went_through(session, payment, event, exact_amount=False)
        if stop:
            return payment.id, stop
        if event.type == "charge.dispute.created":
            if _dispute_closed_before(session, intent_id, event.id):
                return payment.id, "stale"  # its closing came first: nothing left to open
            moves = (states.DISPUTED,)
        elif obj.get("status") == "won":
            moves = (states.SUCCEEDED,)
        elif obj.get("status") == "lost":
            # The opening event may be late or lost; closing implies it.
            moves = (states.DISPUTED, states.DISPUTE_LOST)
        else:
            return payment.id, "ignored"
        try:
            changed = _move_through(session, payment.id, moves)
        except states.IllegalTransition:
            return payment.id, "stale"
        return payment.id, "applied" if changed else "repeat"

    answers = [a for _r, a in signals.gateway_event.send(None, event=event, session=session) if a]
    return answers[0] if answers else (None, "ignored")


def _charge_went_through(session, payment: Payment, event: GatewayEvent, *,
                         exact_amount: bool) -> str | None:
    """A refund or a dispute means the charge succeeded, even when its
    `payment_intent.succeeded` is late or lost (Stripe does not promise an
    order): apply that success first, so the refund or dispute is not dropped
    as stale and the gift is matched, then reversed, as it would have been in
    order. Returns an outcome to stop with, or None to go on."""
    obj = event.object
    amount, currency = obj.get("amount"), obj.get("currency")
    amount_ok = isinstance(amount, int) and (
        amount == payment.amount_minor if exact_amount else 0 < amount <= payment.amount_minor)
    currency_ok = isinstance(currency, str) and currency.upper() == payment.currency
    if (amount is not None and not amount_ok) or (currency is not None and not currency_ok):
        log.error("event %s: charge %r %r does not match payment %s",
                  event.id, amount, currency, payment.id)
        return "mismatch"
    known = amount_ok and currency_ok
    if payment.status in (*states.PENDING, states.FAILED):
        if not known:
            return "stale"  # cannot tell the charge is this payment's: wait for its success
        transition_to(session, payment.id, states.SUCCEEDED)
        session.refresh(payment)
    return None


def _dispute_closed_before(session, intent_id: str, event_id: str) -> bool:
    """A charge has at most one dispute: a stored closing event for it means
    an opening event arriving now is older news."""
    return session.scalar(select(func.count()).select_from(WebhookEvent).where(
        WebhookEvent.object_id == intent_id, WebhookEvent.type == "charge.dispute.closed",
        WebhookEvent.event_id != event_id)) > 0


def _move_through(session, payment_id: int, moves: tuple[str, ...]) -> bool:
    """Apply `moves` in order, skipping those a payment already past them
    has made. True if anything changed."""
    current = locked_status(session, payment_id)
    if current == moves[-1]:
        return False
    start = moves.index(current) + 1 if current in moves else 0
    changed = False
    for new in moves[start:]:
        changed |= transition_to(session, payment_id, new)
    return changed


def apply_pending_events(session, intent_id: str) -> int:
    """Apply events that came before our row knew its intent id."""
    pending = session.scalars(
        select(WebhookEvent).where(WebhookEvent.object_id == intent_id,
                                   WebhookEvent.outcome == "unmatched")
        .order_by(WebhookEvent.id)
    ).all()
    for row in pending:
        event = _stored_event(row)
        with caused_by(_event_cause(event)):
            row.payment_id, row.outcome = _apply_event(session, event)
    session.flush()
    return len(pending)
