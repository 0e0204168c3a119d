"""Receipt numbers under real concurrency: 32 gifts succeed at once, each
thread with its own app context, session and connection, through the real
success path; every gift gets its own number, and the numbers run 1…32
with no gap and no repeat (SQLite, and PostgreSQL when DATABASE_URL is set)."""

import pytest
from sqlalchemy import select

from fundraiser.donations import receipt_numbers
from fundraiser.donations.models import Donation
from fundraiser.payments import services as payments
from fundraiser.payments import states
from tests.factories import create_appeal, create_donation
from tests.support import in_threads


@pytest.fixture(autouse=True)
def receipts_carry_their_pdf(app):
    app.config["RECEIPT_PDF_ATTACHED"] = True

GIFTS = 32


def numbers(db):
    return list(db.session.scalars(select(Donation.receipt_number).order_by(Donation.id)))


def test_32_gifts_succeeding_at_once_get_32_consecutive_receipt_numbers(app, db):
    appeal = create_appeal(db.session)
    gifts = [create_donation(db.session, appeal, amount_minor=1_000 + i,
                             email=f"d{i}@example.org") for i in range(GIFTS)]
    payment_ids = [g.payment_id for g in gifts]

    errors = in_threads(app, db, lambda pid: payments.transition_to(
        db.session, pid, states.SUCCEEDED), payment_ids)

    assert errors == []
    assert sorted(numbers(db)) == list(range(1, GIFTS + 1))
    # Every donor got a receipt whose attached PDF carries their own number.
    outbox = app.extensions["mailman"].outbox
    assert len(outbox) == GIFTS
    files = {m.to[0]: m.attachments[0][0] for m in outbox}
    for donation in db.session.scalars(select(Donation)):
        assert files[donation.email] == f"receipt-R-{donation.receipt_number:06d}.pdf"


def test_one_gift_receipted_from_eight_places_at_once_takes_one_number(app, db):
    appeal = create_appeal(db.session)
    first = create_donation(db.session, appeal, email="first@example.org")
    twice = create_donation(db.session, appeal, email="twice@example.org")
    later = create_donation(db.session, appeal, email="later@example.org")
    db.session.flush()
    assert receipt_numbers.assign(db.session, first.id) == 1
    twice_id, later_id = twice.id, later.id

    errors = in_threads(app, db, lambda _n: receipt_numbers.assign(db.session, twice_id),
                        range(8))

    assert errors == []
    assert numbers(db) == [1, 2, None]
    # The next gift continues the sequence: nothing was used up by the race.
    assert receipt_numbers.assign(db.session, later_id) == 3


def test_a_rolled_back_gift_gives_its_number_back(app, db):
    appeal = create_appeal(db.session)
    lost = create_donation(db.session, appeal, email="lost@example.org")
    db.session.commit()
    assert receipt_numbers.assign(db.session, lost.id) == 1
    db.session.rollback()  # e.g. the webhook handler failed after the success
    kept = create_donation(db.session, appeal, email="kept@example.org")
    db.session.flush()
    assert receipt_numbers.assign(db.session, kept.id) == 1
    db.session.commit()
    assert receipt_numbers.assign(db.session, lost.id) == 2
