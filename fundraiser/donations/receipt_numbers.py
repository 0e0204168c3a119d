"""Receipt numbers: sequential, unique, never reused, given once per gift.

The number comes from one counter row, raised by `UPDATE … SET last_number =
last_number + 1 RETURNING last_number`: on PostgreSQL that holds the row's
lock until the transaction ends; on SQLite a transaction holds the write
lock from its first write to its end. The donation's own row is locked
first, so a gift receipted twice at once (webhook and browser) takes one
number, not two. A transaction that rolls back takes its number back with
it: no gaps from failures, and no number ever written on two gifts (a
unique index says so too).
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from .models import Donation, ReceiptCounter

COUNTER_ID = 1


def _next_number(session) -> int:
    bump = (update(ReceiptCounter).where(ReceiptCounter.id == COUNTER_ID)
            .values(last_number=ReceiptCounter.last_number + 1)
            .returning(ReceiptCounter.last_number)
            .execution_options(synchronize_session=False))
    number = session.execute(bump).scalar()
    if number is not None:
        return int(number)
    # No counter row (a database emptied by hand): make it. Two doing so at
    # once: one insert wins, the other waits for it, fails, and raises.
    try:
        with session.begin_nested():
            session.execute(insert(ReceiptCounter).values(id=COUNTER_ID, last_number=1))
        return 1
    except IntegrityError:
        return int(session.execute(bump).scalar_one())


def assign(session, donation_id: int) -> int:
    """The gift's receipt number, given now if it has none. Flushes; the
    caller commits."""
    current = session.execute(
        select(Donation.receipt_number).where(Donation.id == donation_id).with_for_update()
    ).scalar_one()
    if current is not None:
        return int(current)
    number = _next_number(session)
    session.execute(update(Donation).where(Donation.id == donation_id)
                    .values(receipt_number=number))
    return number


def formatted(number: int | None, prefix: str = "") -> str:
    """How a receipt number is printed: the configured prefix and six digits."""
    return "" if number is None else f"{prefix}{number:06d}"
