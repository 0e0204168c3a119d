"""Events about one charge arriving in the wrong order (Stripe promises no
order): the gift ends where the in-order story ends, to the cent."""

from sqlalchemy import select

from fundraiser.donations import services as donations
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.gateway import GatewayEvent
from fundraiser.payments.models import Payment
from tests import support
from tests.factories import create_appeal, create_donation


def ev(type_, obj, event_id):
    return GatewayEvent(id=event_id, type=type_, created=0, object=obj)


def charge(intent_id, refunded, amount=2500):
    return {"id": "ch_1", "object": "charge", "payment_intent": intent_id, "amount": amount,
            "amount_refunded": refunded, "currency": "usd"}


def dispute(intent_id, status, amount=2500):
    return {"id": "dp_1", "object": "dispute", "payment_intent": intent_id, "amount": amount,
            "currency": "usd", "status": status}


def succeeded(payment, intent_id="pi_1"):
    return ev("payment_intent.succeeded", support.intent_object(
        intent_id, "succeeded", payment.amount_minor, payment.currency, payment.reference),
        "evt_ok")


def setup(db):
    appeal = create_appeal(db.session)
    gift = create_donation(db.session, appeal)
    db.session.commit()
    return appeal, gift


def state(db, appeal, gift):
    db.session.commit()
    payment = db.session.scalar(select(Payment).where(Payment.id == gift.payment_id))
    return payment.status, donations.progress_for(db.session, appeal).raised_minor


def test_a_refund_reported_before_the_success_is_not_lost(db):
    appeal, gift = setup(db)
    # Our row already knows its intent (the gateway answered), the success
    # webhook is late: the refund arrives first.
    db.session.execute(Payment.__table__.update().values(intent_id="pi_1"))
    assert payments.ingest_event(db.session, ev("charge.refunded", charge("pi_1", 1000),
                                                "evt_r")) == "applied"
    # the late success is older news now
    assert payments.ingest_event(db.session, succeeded(gift.payment)) == "stale"
    assert state(db, appeal, gift) == (states.PARTIALLY_REFUNDED, 1500)


def test_a_refund_for_an_intent_we_learn_of_later_is_applied_when_we_do(db):
    appeal, gift = setup(db)
    assert payments.ingest_event(db.session, ev("charge.refunded", charge("pi_1", 2500),
                                                "evt_r")) == "unmatched"
    assert payments.ingest_event(db.session, succeeded(gift.payment)) == "applied"
    assert state(db, appeal, gift) == (states.REFUNDED, 0)


def test_a_dispute_closed_before_it_was_opened_ends_closed(db):
    won_appeal, won = setup(db)
    lost = create_donation(db.session, won_appeal, email="b@example.org")
    db.session.commit()
    for gift, intent, status in ((won, "pi_w", "won"), (lost, "pi_l", "lost")):
        payments.ingest_event(db.session, ev("payment_intent.succeeded", support.intent_object(
            intent, "succeeded", 2500, "USD", gift.payment.reference), f"evt_s_{intent}"))
        assert payments.ingest_event(db.session, ev(
            "charge.dispute.closed", dispute(intent, status), f"evt_c_{intent}")) \
            == ("repeat" if status == "won" else "applied")
        assert payments.ingest_event(db.session, ev(
            "charge.dispute.created", dispute(intent, "needs_response"), f"evt_o_{intent}")) \
            == "stale"
    db.session.commit()
    assert db.session.get(Payment, won.payment_id).status == states.SUCCEEDED
    assert db.session.get(Payment, lost.payment_id).status == states.DISPUTE_LOST
    assert donations.progress_for(db.session, won_appeal).raised_minor == 2500


def test_a_refund_of_a_different_charge_amount_changes_nothing(db):
    appeal, gift = setup(db)
    db.session.execute(Payment.__table__.update().values(intent_id="pi_1"))
    assert payments.ingest_event(db.session, ev("charge.refunded",
                                                charge("pi_1", 100, amount=9999),
                                                "evt_r")) == "mismatch"
    assert state(db, appeal, gift) == (states.CREATED, 0)


def test_a_refund_reported_after_the_dispute_it_preceded_is_still_recorded(db):
    appeal, gift = setup(db)
    payments.ingest_event(db.session, succeeded(gift.payment))
    # Refunded 1000, then the rest disputed; the refund's event comes last.
    assert payments.ingest_event(db.session, ev("charge.dispute.created",
                                                dispute("pi_1", "needs_response", 1500),
                                                "evt_o")) == "applied"
    assert payments.ingest_event(db.session, ev("charge.refunded", charge("pi_1", 1000),
                                                "evt_r")) == "applied"
    assert payments.ingest_event(db.session, ev("charge.dispute.closed",
                                                dispute("pi_1", "lost", 1500),
                                                "evt_c")) == "applied"
    db.session.commit()
    payment = db.session.get(Payment, gift.payment_id)
    assert (payment.status, payment.refunded_minor) == (states.DISPUTE_LOST, 1000)
    assert donations.progress_for(db.session, appeal).raised_minor == 0
