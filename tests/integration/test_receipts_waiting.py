"""Which receipts wait for the receipt job (receipts.waiting_receipts): a
gift that succeeded (however long ago), whose receipt nobody claimed, whose
donor is not erased; oldest first (SQLite, and PostgreSQL when
DATABASE_URL is set)."""

from datetime import timedelta

from sqlalchemy import update

from fundraiser.donations import receipts
from fundraiser.donations.models import Donation
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.models import Payment, utcnow
from tests.factories import create_appeal, create_donation


def test_only_succeeded_unclaimed_gifts_of_donors_not_erased_wait(app, db):
    appeal = create_appeal(db.session)
    gifts = [create_donation(db.session, appeal, email=f"d{i}@example.org").payment_id
             for i in range(6)]
    paid, unpaid, claimed, erased, old, young = gifts
    for payment_id in (paid, claimed, erased, old, young):
        payments.transition_to(db.session, payment_id, states.SUCCEEDED)
    # Without a queue the receipts went at once; as if a queue had them still:
    db.session.execute(update(Donation).values(receipt_sent_at=None))
    db.session.execute(update(Donation).where(Donation.payment_id == claimed)
                       .values(receipt_sent_at=utcnow()))
    db.session.execute(update(Donation).where(Donation.payment_id == erased)
                       .values(erased_at=utcnow()))
    db.session.execute(update(Payment).where(Payment.id == old).values(  # entered late
        succeeded_at=utcnow() - timedelta(days=400)))
    db.session.execute(update(Payment).where(Payment.id == paid).values(
        succeeded_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()

    assert receipts.waiting_receipts(db.session) == [paid, old, young]
    assert receipts.waiting_receipts(db.session, limit=2) == [paid, old]
    assert receipts.waiting_receipts(db.session, older_than=timedelta(minutes=5)) == [paid, old]
    assert unpaid not in receipts.waiting_receipts(db.session)
