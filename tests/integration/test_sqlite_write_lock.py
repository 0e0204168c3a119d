"""The embedded database (SQLite) has one write lock. A transaction takes it
just before its first write or its first read FOR UPDATE, and keeps it to
the end; reads before that take nothing. So a page being read never makes a
gift wait, and a transaction that read first never fails when it writes."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from fundraiser.appeals.models import Appeal
from fundraiser.donations.models import Donation
from fundraiser.payments.models import Payment
from tests.factories import create_appeal, create_donation

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def appeal_id(db):
    appeal_id = create_appeal(db.session).id
    db.session.commit()
    return appeal_id


@pytest.fixture
def other(db):
    """A second connection to the same file, as another worker process has,
    which gives up on the lock after 0.3 s instead of 30."""
    conn = db.engine.connect()
    conn.exec_driver_sql("PRAGMA busy_timeout = 300")
    conn.commit()  # the session's transactions are then its own to commit
    session = Session(bind=conn)
    yield session
    session.close()
    conn.close()


def gifts(session) -> int:
    return len(session.scalars(select(Donation.id)).all())


def test_a_gift_is_not_kept_waiting_by_a_page_being_read(db, appeal_id, other):
    appeal = db.session.get(Appeal, appeal_id)  # a page's read, its transaction still open
    assert appeal.accepts_gifts()
    create_donation(other, other.get(Appeal, appeal_id), email="other@example.org")
    other.commit()  # "database is locked" before: the reader held the lock
    db.session.rollback()
    assert gifts(db.session) == 1


def test_a_transaction_that_read_before_another_wrote_still_writes(db, appeal_id, other):
    """SQLite refuses to turn a read into a write once another writer has
    committed since the read began; no read is left open to turn."""
    appeal = db.session.get(Appeal, appeal_id)
    create_donation(other, other.get(Appeal, appeal_id), email="other@example.org")
    other.commit()
    create_donation(db.session, appeal, email="late@example.org")
    db.session.commit()
    assert gifts(db.session) == 2


def test_from_its_first_write_a_transaction_has_the_database_to_itself(db, appeal_id, other):
    create_donation(db.session, db.session.get(Appeal, appeal_id), email="first@example.org")
    with pytest.raises(OperationalError, match="locked"):
        create_donation(other, other.get(Appeal, appeal_id), email="other@example.org")
    other.rollback()
    db.session.commit()
    create_donation(other, other.get(Appeal, appeal_id), email="other@example.org")
    other.commit()
    assert gifts(db.session) == 2


def test_a_read_for_update_takes_the_lock_as_a_write_does(db, appeal_id, other):
    """What PostgreSQL's row locks promise (a refund, a payment's move),
    SQLite's one lock promises from that read on."""
    payment_id = create_donation(db.session, db.session.get(Appeal, appeal_id)).payment_id
    db.session.commit()
    db.session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
    with pytest.raises(OperationalError, match="locked"):
        create_donation(other, other.get(Appeal, appeal_id), email="other@example.org")
    other.rollback()
    db.session.rollback()
    assert gifts(db.session) == 1
