"""Moving a payment from one status to another: `transition_to`, the only
writer of Payment.status, with its history row and the signals the move
sends; and `caused_by`, the cause the history records."""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, false, func, insert, literal, or_, select, update
from sqlalchemy.orm.util import identity_key

from .. import signals
from . import states
from .models import Payment, PaymentStatusChange, utcnow

log = logging.getLogger(__name__)


# What is moving payments in this context, for their status history: the
# default is the gateway's answer to a call this app made (a donor's request).
_cause: ContextVar[str] = ContextVar("payment_cause", default="gateway answer")


@contextmanager
def caused_by(cause: str | None):
    """Record `cause` on every status change made inside the block (None
    keeps the cause already set around it)."""
    if cause is None:
        yield
        return
    token = _cause.set(cause[:120])
    try:
        yield
    finally:
        _cause.reset(token)


# The statements a move runs, built once: a gift's success runs them
# hundreds of times a second, and SQLAlchemy reuses a statement's compiled
# form and cache key when it is the same object (built anew, both cost more
# than running it). On the tables, not the mapped classes: no ORM bookkeeping
# for rows this session does not hold.
_PAYMENTS = Payment.__table__
_RECORD_CHANGE = insert(PaymentStatusChange.__table__)


def record_change(session, payment_id: int, old: str | None, new: str, at) -> None:
    session.execute(_RECORD_CHANGE, dict(payment_id=payment_id, from_status=old, to_status=new,
                                         cause=_cause.get(), at=at))


def locked_status(session, payment_id: int) -> str | None:
    # FOR UPDATE on PostgreSQL; on SQLite the write lock, taken for it (fundraiser/__init__.py).
    return session.scalar(
        select(Payment.status).where(Payment.id == payment_id).with_for_update()
    )


@dataclass(frozen=True)
class Moved:
    """What a payment's move found: the figures its listeners need, read by
    the same statement (so they ask nothing more of the database)."""

    amount_minor: int
    refunded_minor: int
    currency: str
    succeeded_at: datetime | None


_FIGURES = ("previous_status", "amount_minor", "refunded_minor", "currency", "succeeded_at")


@functools.cache
def _move_statement(new: str, fields: tuple[str, ...], with_history: bool):
    """The UPDATE that moves a payment to `new`, writing `fields` too (bound
    as `f_<name>`; `at` is the time of the move), returning the status it
    had and the figures: built once for each. `with_history` (PostgreSQL):
    the same statement writes the move's history row (bound: `cause`), so a
    move is one round trip, not two."""
    c = _PAYMENTS.c
    # "status is one `new` may be reached from": an IN list would be
    # expanded again at every execution.
    movable = or_(false(), *(c.status == old for old in states.sources_of(new)))
    at = bindparam("at", type_=c.updated_at.type)
    values = {"status": new, "updated_at": at,
              **{name: bindparam(f"f_{name}", type_=c[name].type) for name in fields}}
    if new == states.SUCCEEDED:
        values.update(failure_code=None, failure_message=None,
                      succeeded_at=func.coalesce(c.succeeded_at, at))  # the first time
    move = (update(_PAYMENTS)
            .where(c.id == bindparam("payment_id"),
                   movable if new in states.TRANSITIONS else false())
            .values(previous_status=c.status, **values))
    if not with_history:
        return move.returning(*(c[name] for name in _FIGURES))
    # WITH moved AS (UPDATE … RETURNING …), recorded AS (INSERT … SELECT … FROM
    # moved) SELECT … FROM moved: the history row exists exactly when the
    # payment moved, as with two statements.
    moved = move.returning(c.id, *(c[name] for name in _FIGURES)).cte("moved")
    history = PaymentStatusChange.__table__
    recorded = insert(history).from_select(
        ["payment_id", "from_status", "to_status", "cause", "at"],
        select(moved.c.id, moved.c.previous_status, literal(new, history.c.to_status.type),
               bindparam("cause", type_=history.c.cause.type),
               bindparam("at", type_=history.c.at.type))).cte("recorded")
    return select(*(moved.c[name] for name in _FIGURES)).add_cte(recorded)


def _move(session, payment_id: int, new: str, at, fields: dict):
    """The payment goes to `new` if its status is one `new` may be reached
    from: one UPDATE, which on PostgreSQL also writes the history row.
    Returns (the status it had, Moved, recorded?), or None when it did not
    move. On PostgreSQL the UPDATE waits for the row's lock and checks the
    status again on the row as committed, so two moves at once never both
    happen."""
    with_history = session.get_bind().dialect.name == "postgresql"
    statement = _move_statement(new, tuple(sorted(fields)), with_history)
    row = session.execute(statement, {"payment_id": payment_id, "at": at, "cause": _cause.get(),
                                      **{f"f_{k}": v for k, v in fields.items()}}).first()
    return None if row is None else (row[0], Moved(*row[1:]), with_history)


def transition_to(session, payment_id: int, new: str, **fields) -> bool:
    """The only writer of Payment.status. True if the status changed, False if
    the payment was already there (a repeat). Raises IllegalTransition."""
    now = utcnow()
    moved = _move(session, payment_id, new, now, fields)
    if moved is None:
        # Not moved: no such payment, a repeat, or a move the table refuses;
        # or another transaction moved it just now to where it may go from.
        current = locked_status(session, payment_id)
        if current is None:
            raise LookupError(f"no payment {payment_id}")
        if not states.check_transition(current, new):
            return False
        moved = _move(session, payment_id, new, now, fields)  # under the lock now
        if moved is None:  # cannot happen under the row lock; be loud if it does
            raise RuntimeError(f"payment {payment_id} changed under its lock")
    current, figures, recorded = moved
    loaded = session.identity_map.get(identity_key(Payment, payment_id))
    if loaded is not None:  # a Payment this session holds reads the new row next
        session.expire(loaded)
    if not recorded:
        record_change(session, payment_id, current, new, now)
    log.info("payment %s: %s -> %s", payment_id, current, new)
    sent = dict(payment_id=payment_id, session=session, moved=figures)
    if new == states.SUCCEEDED and current in (*states.PENDING, states.FAILED):
        signals.payment_succeeded.send(None, **sent)
    elif new == states.SUCCEEDED and current == states.DISPUTED:
        signals.payment_reinstated.send(None, **sent)
    elif new == states.FAILED:
        signals.payment_failed.send(None, **sent)
    elif new == states.DISPUTED:
        signals.payment_disputed.send(None, **sent)
    return True
