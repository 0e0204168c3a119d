"""A refund cut off between the gateway's answer and our commit stays
`pending`; `flask reconcile` asks the gateway (localstripe) what happened and
finishes it: succeeded (totals and match ledger move once) or failed (the
reserved amount is free again). Reconcile twice, or a late charge.refunded
webhook, changes nothing more."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from fundraiser import signals
from fundraiser.donations import services as donations
from fundraiser.matching import services as matching
from fundraiser.matching.models import MatchEntry
from fundraiser.payments import states
from fundraiser.payments.gateway import GatewayError, OutcomeUnknown, RefundResult
from fundraiser.payments.models import Payment, PaymentStatusChange, utcnow
from fundraiser.staff import refund_services
from fundraiser.staff import services as staff_services
from fundraiser.staff.models import AuditEvent, StaffRefund
from tests import support
from tests.functional.staff.conftest import snapshot

VISA = "4242424242424242"


class ProcessDied(BaseException):
    """The worker is killed (deploy, OOM, a lost host): no handler runs."""


@pytest.fixture
def matched_gift(db, donor, localstripe, appeal):
    """A $25 card gift, matched 1:1 by a sponsor pool."""
    matching.create_pool(db.session, appeal_id=appeal.id, currency="USD", cap_minor=10_000,
                         sponsor_name="Ruth")
    db.session.commit()
    public_id = donor.start(amount="25")
    assert donor.charge(public_id, support.card_token(localstripe, VISA)) \
        .get_json()["status"] == "succeeded"
    return donations.by_public_id(db.session, public_id)


def refund_dies_at(finance, gift, amount, monkeypatch, target, name):
    """The process dies when the refund reaches `target.name`, and no handler
    runs: at refund_services.finish_refund, Stripe has refunded and our
    bookkeeping never commits; at gateway.refund, the reservation is
    committed and Stripe never hears of it."""
    def die(*_a, **_kw):
        raise ProcessDied

    with monkeypatch.context() as m:
        m.setattr(target, name, die)
        with pytest.raises(ProcessDied):
            finance.post(f"/staff/donations/{gift.id}/refund",
                         {"amount": amount, "reason": "Donor asked"})


def refund_dies_after_the_gateway(finance, gift, amount, monkeypatch):
    refund_dies_at(finance, gift, amount, monkeypatch, refund_services, "finish_refund")


def refund_dies_before_the_gateway(finance, gift, amount, gateway, monkeypatch):
    refund_dies_at(finance, gift, amount, monkeypatch, gateway, "refund")


def age_pending_refunds(db, minutes=10):
    db.session.rollback()
    db.session.execute(update(StaffRefund).where(StaffRefund.status == "pending")
                       .values(created_at=utcnow() - timedelta(minutes=minutes)))
    db.session.commit()


def ledger(db, payment_id):
    db.session.rollback()
    return [(e.kind, e.amount_minor) for e in db.session.scalars(
        select(MatchEntry).where(MatchEntry.payment_id == payment_id).order_by(MatchEntry.id))]


def refunds(db):
    db.session.rollback()
    return [(r.amount_minor, r.status) for r in db.session.scalars(
        select(StaffRefund).order_by(StaffRefund.id))]


@pytest.fixture
def refunded_signals():
    seen = []

    def listener(sender, payment_id, amount_minor, session, **kw):
        seen.append(amount_minor)

    signals.payment_refunded.connect(listener)
    yield seen
    signals.payment_refunded.disconnect(listener)


def test_reconcile_finishes_a_refund_the_gateway_made_and_releases_one_it_never_saw(
        app, db, client, runner, gateway, appeal, matched_gift, staff_client, monkeypatch,
        refunded_signals):
    gift = matched_gift
    finance = staff_client("finance")
    refund_dies_after_the_gateway(finance, gift, "10", monkeypatch)     # Stripe refunded $10
    refund_dies_before_the_gateway(finance, gift, "5", gateway, monkeypatch)  # Stripe: nothing
    age_pending_refunds(db)
    refund_dies_before_the_gateway(finance, gift, "2", gateway, monkeypatch)  # just now
    payment = db.session.get(Payment, gift.payment_id)
    intent_id = payment.intent_id
    # Stuck: the gift still counts in full, and $17 is reserved.
    assert (payment.status, payment.refunded_minor) == (states.SUCCEEDED, 0)
    assert refund_services.refundable_minor(db.session, payment) == 800
    assert refunds(db) == [(1000, "pending"), (500, "pending"), (200, "pending")]
    on_stripe = gateway.refunds_for(intent_id)
    assert [(r.amount_minor, r.key) for r in on_stripe] == [
        (1000, refund_services.refund_key(payment.reference, 1))]

    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    ids = db.session.scalars(select(StaffRefund.id).order_by(StaffRefund.id)).all()
    assert f"refund {ids[0]}: pending -> succeeded ({on_stripe[0].refund_id})" in result.output
    assert f"refund {ids[1]}: pending -> failed" in result.output
    assert f"refund {ids[2]}" not in result.output  # too recent: may still be on its way
    assert "2 refund(s) settled" in result.output

    # $10 refunded, once: the payment, the goal, the match ledger and the API agree.
    assert refunds(db) == [(1000, "succeeded"), (500, "failed"), (200, "pending")]
    first = db.session.get(StaffRefund, ids[0])
    assert first.gateway_refund_id == on_stripe[0].refund_id
    assert "no such refund" in db.session.get(StaffRefund, ids[1]).error
    payment = db.session.get(Payment, gift.payment_id)
    assert (payment.status, payment.refunded_minor) == (states.PARTIALLY_REFUNDED, 1000)
    assert donations.progress_for(db.session, appeal).raised_minor == 1500
    assert ledger(db, gift.payment_id) == [("allocation", 2500), ("reversal", -1000)]
    assert client.get("/api/v1/appeals/test-appeal").get_json()["matched_minor"] == 1500
    assert refunded_signals == [1000]
    # The $5 is free again; only the recent $2 is still held back.
    assert refund_services.refundable_minor(db.session, payment) == 1300
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("refund.%"))
                               .order_by(AuditEvent.id)).all()
    assert [(a.action, a.actor_email) for a in audit] == [
        ("refund.requested", "finance@example.org"), ("refund.requested", "finance@example.org"),
        ("refund.requested", "finance@example.org"), ("refund.succeeded", "command line"),
        ("refund.failed", "command line")]
    assert json.loads(audit[3].details)["via"] == "reconcile"
    assert json.loads(audit[3].details)["gateway_refund_id"] == on_stripe[0].refund_id
    assert json.loads(audit[4].details)["refund_id"] == ids[1]
    # The payment's status history names reconcile as what moved it.
    assert db.session.execute(
        select(PaymentStatusChange.to_status, PaymentStatusChange.cause)
        .where(PaymentStatusChange.payment_id == gift.payment_id)
        .order_by(PaymentStatusChange.id.desc()).limit(1)).one() == \
        ("partially_refunded", "reconcile")
    # The staff page shows the settled refunds.
    page = finance.get(f"/staff/donations/{gift.id}").get_data(as_text=True)
    assert "Up to $13.00 can be refunded" in page
    assert "never received this refund (found by reconcile); nothing was refunded" in page
    hebrew = finance.get(f"/staff/donations/{gift.id}?lang=he").get_data(as_text=True)
    assert "ההחזר הזה לא הגיע לשירות התשלומים" in hebrew

    # Again: nothing changes. Then the charge.refunded webhook: a repeat.
    before = snapshot(db)
    again = runner.invoke(args=["reconcile"])
    assert "0 refund(s) settled" in again.output
    assert snapshot(db) == before
    assert support.post_event(client, app, support.charge_refunded(intent_id, 1000, "evt_late")) \
        .get_json()["outcome"] == "repeat"
    after = snapshot(db)
    assert {k: v for k, v in after.items() if k != "webhook_events"} == \
        {k: v for k, v in before.items() if k != "webhook_events"}
    assert refunded_signals == [1000]


def test_the_webhook_first_then_reconcile_counts_the_refund_once(
        app, db, client, runner, appeal, matched_gift, staff_client, monkeypatch,
        refunded_signals):
    gift = matched_gift
    finance = staff_client("finance")
    refund_dies_after_the_gateway(finance, gift, "25", monkeypatch)
    intent_id = db.session.get(Payment, gift.payment_id).intent_id
    # Real Stripe sends charge.refunded at once: the totals move before our row does.
    assert support.post_event(client, app, support.charge_refunded(intent_id, 2500, "evt_first")) \
        .get_json()["outcome"] == "applied"
    db.session.rollback()
    assert db.session.get(Payment, gift.payment_id).status == states.REFUNDED
    assert ledger(db, gift.payment_id) == [("allocation", 2500), ("reversal", -2500)]
    age_pending_refunds(db)
    result = runner.invoke(args=["reconcile"])
    assert "pending -> succeeded" in result.output and "1 refund(s) settled" in result.output
    assert refunds(db) == [(2500, "succeeded")]
    payment = db.session.get(Payment, gift.payment_id)
    assert (payment.status, payment.refunded_minor) == (states.REFUNDED, 2500)
    assert ledger(db, gift.payment_id) == [("allocation", 2500), ("reversal", -2500)]
    assert donations.progress_for(db.session, appeal).raised_minor == 0
    assert refunded_signals == [2500]
    before = snapshot(db)
    assert "0 refund(s) settled" in runner.invoke(args=["reconcile"]).output
    assert snapshot(db) == before


def test_a_refund_stays_pending_while_the_gateway_does_not_answer(
        db, runner, gateway, matched_gift, staff_client, monkeypatch):
    finance = staff_client("finance")
    refund_dies_after_the_gateway(finance, matched_gift, "10", monkeypatch)
    age_pending_refunds(db)
    before = snapshot(db)

    def down(intent_id):
        raise GatewayError("connection refused")

    monkeypatch.setattr(gateway, "refunds_for", down)
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert "still pending: the payment service did not answer" in result.output
    assert "0 refund(s) settled" in result.output
    assert snapshot(db) == before
    monkeypatch.undo()
    assert "1 refund(s) settled" in runner.invoke(args=["reconcile"]).output
    assert refunds(db) == [(1000, "succeeded")]


def test_a_refund_sent_before_keys_were_kept_is_found_by_its_amount(
        db, runner, gateway, matched_gift, staff_client):
    """Refunds sent by earlier versions carry no key in their metadata: the
    gateway's refund of the same amount that no row of ours has claimed."""
    finance_user = staff_services.create_staff(db.session, "f@example.org", "finance")[0]
    pending = refund_services.begin_refund(db.session, donation=matched_gift, amount_minor=700,
                                           reason="old", actor=finance_user)
    pending_id = pending.id
    db.session.commit()
    intent_id = db.session.get(Payment, matched_gift.payment_id).intent_id
    made = gateway.client.v1.refunds.create(params={"payment_intent": intent_id,
                                                    "amount": 700})
    age_pending_refunds(db)
    result = runner.invoke(args=["reconcile"])
    assert f"refund {pending_id}: pending -> succeeded ({made.id})" in result.output
    assert db.session.get(Payment, matched_gift.payment_id).refunded_minor == 700


def test_a_refund_the_gateway_reports_as_failed_is_released(db, card_gift, make_staff):
    """Stripe may keep a refund it could not make (status failed or canceled)."""
    user = make_staff("finance")
    refund = refund_services.begin_refund(db.session, donation=card_gift, amount_minor=500,
                                          reason="Donor asked", actor=user)
    refund_id = refund.id
    key = refund_services.refund_key(card_gift.payment.reference, refund.number)
    db.session.commit()
    failed = [RefundResult("re_failed", 500, "failed", key)]
    assert refund_services.settle_stuck_refund(db.session, refund_id, failed) == (
        "failed", f"{refund_services.REFUND_NOT_MADE}: re_failed failed")
    db.session.commit()
    assert refunds(db) == [(500, "failed")]
    payment = db.session.get(Payment, card_gift.payment_id)
    assert (payment.status, payment.refunded_minor) == (states.SUCCEEDED, 0)
    assert refund_services.refundable_minor(db.session, payment) == 2500
    details = json.loads(db.session.scalars(select(AuditEvent.details).where(
        AuditEvent.action == "refund.failed")).one())
    assert (details["gateway_status"], details["via"]) == ("failed", "reconcile")
    # Settled already: a second run leaves it alone.
    assert refund_services.settle_stuck_refund(db.session, refund_id, failed) == ("unchanged", "")


@pytest.mark.parametrize("stripe_refunded", [True, False])
def test_a_refund_whose_answer_is_lost_stays_reserved_until_reconcile_settles_it(
        db, runner, gateway, appeal, matched_gift, staff_client, monkeypatch, stripe_refunded,
        refunded_signals):
    """A dropped connection or a server error: Stripe may or may not have
    refunded. Marking it failed would free the money for a second refund."""
    gift = matched_gift
    finance = staff_client("finance")
    real_refund = gateway.refund

    def answer_lost(**kw):
        if stripe_refunded:
            real_refund(**kw)
        raise OutcomeUnknown("connection reset")

    with monkeypatch.context() as m:
        m.setattr(gateway, "refund", answer_lost)
        response = finance.post(f"/staff/donations/{gift.id}/refund",
                                {"amount": "10", "reason": "Donor asked"},
                                follow_redirects=True)
    assert "did not confirm this refund" in response.text
    assert refunds(db) == [(1000, "pending")]
    payment = db.session.get(Payment, gift.payment_id)
    assert refund_services.refundable_minor(db.session, payment) == 1500
    again = finance.post(f"/staff/donations/{gift.id}/refund",
                         {"amount": "20", "reason": "Asked twice"})
    assert again.status_code == 422 and "more than is left" in again.text
    assert db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("refund.%")).order_by(AuditEvent.id)).all() == \
        ["refund.requested", "refund.unconfirmed"]

    age_pending_refunds(db)
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    payment = db.session.get(Payment, gift.payment_id)
    if stripe_refunded:
        assert refunds(db) == [(1000, "succeeded")]
        assert (payment.status, payment.refunded_minor) == (states.PARTIALLY_REFUNDED, 1000)
        assert refunded_signals == [1000]
        assert ledger(db, gift.payment_id) == [("allocation", 2500), ("reversal", -1000)]
    else:
        assert refunds(db) == [(1000, "failed")]
        assert (payment.status, payment.refunded_minor) == (states.SUCCEEDED, 0)
        assert refunded_signals == []
        assert refund_services.refundable_minor(db.session, payment) == 2500
