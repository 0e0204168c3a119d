"""Payment state, webhook ingestion and counting, against a real database
(SQLite, and PostgreSQL when DATABASE_URL is set)."""

import threading

import pytest
from sqlalchemy import func, select

from fundraiser.donations import services as donations
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.gateway import GatewayEvent
from fundraiser.payments.models import Payment, WebhookEvent
from tests import support
from tests.factories import create_appeal, create_donation


def event(type_, obj, event_id="evt_1"):
    return GatewayEvent(id=event_id, type=type_, created=0, object=obj)


def succeeded_event(payment, intent_id="pi_1", event_id="evt_1", status="succeeded"):
    obj = support.intent_object(intent_id, status, payment.amount_minor, payment.currency,
                                payment.reference)
    return event("payment_intent." + ("succeeded" if status == "succeeded" else
                                      "payment_failed"), obj, event_id)


def outbox(app):
    return getattr(app.extensions["mailman"], "outbox", [])


def progress(db, appeal):
    return donations.progress_for(db.session, appeal)


def test_a_succeeded_gift_counts_once_and_a_failed_one_not_at_all(db):
    appeal = create_appeal(db.session)
    good = create_donation(db.session, appeal, amount_minor=2500, email="a@example.org")
    bad = create_donation(db.session, appeal, amount_minor=9900, email="b@example.org")
    db.session.commit()
    assert payments.ingest_event(db.session, succeeded_event(good.payment, "pi_good",
                                                             "evt_good")) == "applied"
    assert payments.ingest_event(db.session, succeeded_event(
        bad.payment, "pi_bad", "evt_bad", status="requires_payment_method")) == "applied"
    # the same success again, under another event id (Stripe may send both)
    assert payments.ingest_event(db.session, succeeded_event(good.payment, "pi_good",
                                                             "evt_good_2")) == "repeat"
    db.session.commit()
    p = progress(db, appeal)
    assert (p.raised_minor, p.donation_count, p.donor_count) == (2500, 1, 1)
    assert db.session.get(Payment, bad.payment_id).status == states.FAILED


def test_a_webhook_delivered_ten_times_writes_one_row(db):
    appeal = create_appeal(db.session)
    gift = create_donation(db.session, appeal)
    db.session.commit()
    outcomes = [payments.ingest_event(db.session, succeeded_event(gift.payment))
                for _ in range(10)]
    db.session.commit()
    assert outcomes == ["applied"] + ["duplicate"] * 9
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    assert progress(db, appeal).raised_minor == 2500


def test_concurrent_duplicate_deliveries_store_one_event(app, db):
    appeal = create_appeal(db.session)
    gift = create_donation(db.session, appeal)
    ev = succeeded_event(gift.payment)
    db.session.commit()  # and hold no transaction (SQLite: no lock) while threads run
    outcomes, errors = [], []
    barrier = threading.Barrier(8)

    def deliver():
        with app.app_context():
            try:
                barrier.wait()
                outcomes.append(payments.ingest_event(db.session, ev))
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 — reported below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 7
    assert progress(db, appeal).donation_count == 1


def test_success_arriving_before_our_row_is_committed_is_still_applied(app, db):
    """The webhook can beat our own commit. It is kept, and applied as soon
    as our row knows its intent."""
    appeal = create_appeal(db.session)
    db.session.commit()
    intent = support.intent_object("pi_early", "succeeded", 2500, "USD", "not-yet-known")
    assert payments.ingest_event(db.session, event("payment_intent.succeeded", intent,
                                                   "evt_early")) == "unmatched"
    db.session.commit()
    gift = create_donation(db.session, appeal)
    from fundraiser.payments.gateway import IntentResult

    payments.claim_for_submission(db.session, gift.payment_id)
    payments.record_intent(db.session, gift.payment_id, IntentResult(
        intent_id="pi_early", status=states.PROCESSING, amount_minor=2500, currency="USD"))
    db.session.commit()
    assert db.session.get(Payment, gift.payment_id).status == states.SUCCEEDED
    stored = db.session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == "evt_early"))
    assert (stored.outcome, stored.payment_id) == ("applied", gift.payment_id)
    assert progress(db, appeal).raised_minor == 2500


def succeeded_by_webhook_before_the_answer(db):
    """A gift claimed (created → processing) whose success webhook came
    before the gateway's answer was saved: the event found it by reference."""
    gift = create_donation(db.session, create_appeal(db.session))
    payments.claim_for_submission(db.session, gift.payment_id)
    db.session.commit()
    assert payments.ingest_event(db.session, succeeded_event(gift.payment, "pi_x")) == "applied"
    db.session.commit()
    return gift


def test_success_arriving_while_our_intent_id_is_unsaved_is_applied(db):
    """Our row exists (created → processing) but the gateway's answer has not
    been saved yet: the event finds the row by its reference."""
    gift = succeeded_by_webhook_before_the_answer(db)
    payment = db.session.get(Payment, gift.payment_id)
    assert (payment.status, payment.intent_id) == (states.SUCCEEDED, "pi_x")


def test_a_success_whose_webhook_came_first_still_learns_the_card(db):
    """The webhook taught us the intent id; the charge's own answer, a moment
    later, names the card: the gift's receipt and staff page can say it."""
    from fundraiser.payments.gateway import IntentResult

    gift = succeeded_by_webhook_before_the_answer(db)
    assert payments.record_intent(db.session, gift.payment_id, IntentResult(
        intent_id="pi_x", status=states.SUCCEEDED, amount_minor=2500, currency="USD",
        customer_id="cus_1", card_brand="Visa", card_last4="4242")) == "repeat"
    db.session.commit()
    payment = db.session.get(Payment, gift.payment_id)
    assert (payment.card_brand, payment.card_last4, payment.customer_id) == (
        "Visa", "4242", "cus_1")
    # Another intent's answer never writes on this payment.
    assert payments.record_intent(db.session, gift.payment_id, IntentResult(
        intent_id="pi_other", status=states.SUCCEEDED, amount_minor=2500, currency="USD",
        card_brand="Mastercard", card_last4="4444")) == "mismatch"
    db.session.commit()
    db.session.refresh(payment)
    assert (payment.intent_id, payment.card_brand, payment.card_last4) == ("pi_x", "Visa", "4242")


def test_out_of_order_events_do_not_undo_a_success(db):
    appeal = create_appeal(db.session)
    gift = create_donation(db.session, appeal)
    db.session.commit()
    payments.ingest_event(db.session, succeeded_event(gift.payment, "pi_o", "evt_ok"))
    late = support.intent_object("pi_o", "requires_action", 2500, "USD", gift.payment.reference)
    assert payments.ingest_event(db.session, event("payment_intent.requires_action", late,
                                                   "evt_late")) == "stale"
    failed = support.intent_object("pi_o", "requires_payment_method", 2500, "USD",
                                   gift.payment.reference)
    assert payments.ingest_event(db.session, event("payment_intent.payment_failed", failed,
                                                   "evt_late2")) == "stale"
    db.session.commit()
    assert db.session.get(Payment, gift.payment_id).status == states.SUCCEEDED


def test_an_event_for_a_different_amount_is_not_applied(db):
    appeal = create_appeal(db.session)
    gift = create_donation(db.session, appeal, amount_minor=2500)
    db.session.commit()
    forged = support.intent_object("pi_m", "succeeded", 250000, "USD", gift.payment.reference)
    assert payments.ingest_event(db.session, event("payment_intent.succeeded", forged)) \
        == "mismatch"
    db.session.commit()
    assert db.session.get(Payment, gift.payment_id).status == states.CREATED
    assert progress(db, appeal).raised_minor == 0


def test_a_refund_reported_twice_is_subtracted_once(db):
    appeal = create_appeal(db.session)
    gift = create_donation(db.session, appeal, amount_minor=5000)
    db.session.commit()
    payments.ingest_event(db.session, succeeded_event(gift.payment, "pi_r", "evt_s"))
    charge = {"id": "ch_r", "object": "charge", "payment_intent": "pi_r",
              "amount": 5000, "amount_refunded": 2000}
    assert payments.ingest_event(db.session, event("charge.refunded", charge, "evt_r1")) \
        == "applied"
    assert payments.ingest_event(db.session, event("charge.refunded", charge, "evt_r2")) \
        == "repeat"
    db.session.commit()
    assert progress(db, appeal).raised_minor == 3000
    payment = db.session.get(Payment, gift.payment_id)
    assert payment.status == states.PARTIALLY_REFUNDED
    # a late report of a smaller refund total changes nothing
    charge_old = dict(charge, amount_refunded=1000)
    assert payments.ingest_event(db.session, event("charge.refunded", charge_old, "evt_r0")) \
        == "repeat"
    full = dict(charge, amount_refunded=5000)
    assert payments.ingest_event(db.session, event("charge.refunded", full, "evt_r3")) \
        == "applied"
    db.session.commit()
    assert progress(db, appeal).raised_minor == 0
    assert progress(db, appeal).donation_count == 0
    assert db.session.get(Payment, gift.payment_id).status == states.REFUNDED


def test_a_dispute_takes_the_gift_out_and_a_won_dispute_puts_it_back(db):
    appeal = create_appeal(db.session)
    gift = create_donation(db.session, appeal)
    db.session.commit()
    payments.ingest_event(db.session, succeeded_event(gift.payment, "pi_d", "evt_s"))
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": "pi_d",
               "status": "needs_response"}
    payments.ingest_event(db.session, event("charge.dispute.created", dispute, "evt_d1"))
    db.session.commit()
    assert progress(db, appeal).raised_minor == 0
    payments.ingest_event(db.session, event("charge.dispute.closed", dict(dispute, status="won"),
                                            "evt_d2"))
    db.session.commit()
    assert progress(db, appeal).raised_minor == 2500


def test_one_payment_is_claimed_once_however_many_submits_race(app, db):
    appeal = create_appeal(db.session)
    payment_id = create_donation(db.session, appeal).payment_id
    db.session.commit()
    results = []
    barrier = threading.Barrier(6)

    def submit():
        with app.app_context():
            barrier.wait()
            try:
                payments.claim_for_submission(db.session, payment_id)
                db.session.commit()
                results.append("claimed")
            except payments.AlreadySubmitted:
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["claimed"] + ["refused"] * 5


def test_transition_to_refuses_illegal_moves_and_changes_nothing(db):
    appeal = create_appeal(db.session)
    gift = create_donation(db.session, appeal)
    db.session.commit()
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    payments.transition_to(db.session, gift.payment_id, states.REFUNDED)
    db.session.commit()
    with pytest.raises(states.IllegalTransition):
        payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.rollback()
    assert db.session.get(Payment, gift.payment_id).status == states.REFUNDED


def test_a_receipt_is_sent_once_however_often_success_is_reported(app, db):
    appeal = create_appeal(db.session, title="Receipts appeal")
    gift = create_donation(db.session, appeal, email="receipt@example.org")
    db.session.commit()
    for n in range(3):
        payments.ingest_event(db.session, succeeded_event(gift.payment, "pi_m", f"evt_{n}"))
    db.session.commit()
    sent = [m for m in outbox(app) if "receipt@example.org" in m.to]
    assert len(sent) == 1
    assert "Receipts appeal" in sent[0].subject
    assert "$25.00" in sent[0].body


def test_no_receipt_leaves_for_a_success_that_was_rolled_back(app, db):
    appeal = create_appeal(db.session, title="Rollback appeal")
    gift = create_donation(db.session, appeal, email="rollback@example.org")
    ev = succeeded_event(gift.payment, "pi_rb", "evt_rb")
    db.session.commit()
    payments.ingest_event(db.session, ev)
    db.session.rollback()  # e.g. the webhook handler failed after applying it
    assert [m for m in outbox(app) if "rollback@example.org" in m.to] == []
    # the retried delivery is applied and receipted, once
    assert payments.ingest_event(db.session, ev) == "applied"
    db.session.commit()
    assert len([m for m in outbox(app) if "rollback@example.org" in m.to]) == 1
