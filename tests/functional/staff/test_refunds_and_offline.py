"""Refunds through the real gateway (localstripe) and offline gifts: the
totals move exactly once, whatever the webhooks do."""

import logging

import pytest
from sqlalchemy import func, select, update

from fundraiser import signals
from fundraiser.appeals.models import Appeal
from fundraiser.donations import services as donations
from fundraiser.payments import states
from fundraiser.payments.gateway import GatewayError
from fundraiser.payments.models import Payment, PaymentStatusChange
from fundraiser.staff.models import AuditEvent, OfflineGift, StaffRefund
from tests import support

VISA = "4242424242424242"


def paid_gift(donor, localstripe, amount="25"):
    public_id = donor.start(amount=amount)
    response = donor.charge(public_id, support.card_token(localstripe, VISA))
    assert response.get_json()["status"] == "succeeded", response.get_json()
    return public_id


def test_partial_then_full_refund_moves_the_totals_exactly_once(
        app, db, client, donor, localstripe, appeal, staff_client, gateway):
    public_id = paid_gift(donor, localstripe)
    gift = donations.by_public_id(db.session, public_id)
    assert donations.progress_for(db.session, appeal).raised_minor == 2500
    refunded_signals = []

    def listener(sender, payment_id, amount_minor, session, **kw):
        refunded_signals.append(amount_minor)

    signals.payment_refunded.connect(listener)
    try:
        finance = staff_client("finance")
        page = finance.get(f"/staff/donations/{gift.id}")
        assert b"Up to $25.00 can be refunded" in page.data
        response = finance.post(f"/staff/donations/{gift.id}/refund",
                                {"amount": "10", "reason": "Donor asked for part back"})
        assert response.status_code == 303
        db.session.rollback()
        payment = db.session.get(Payment, gift.payment_id)
        assert (payment.status, payment.refunded_minor) == (states.PARTIALLY_REFUNDED, 1000)
        assert donations.progress_for(db.session, appeal).raised_minor == 1500
        refund = db.session.scalar(select(StaffRefund))
        assert refund.status == "succeeded" and refund.gateway_refund_id.startswith("re_")
        assert refund.number == 1

        # localstripe never sends charge.refunded: we build it, signed, and it
        # arrives twice (a replay of one event, and a second event id).
        event = support.charge_refunded(payment.intent_id, 1000, "evt_refund_1")
        assert support.post_event(client, app, event).get_json()["outcome"] == "repeat"
        assert support.post_event(client, app, event).get_json()["outcome"] == "duplicate"
        again = support.charge_refunded(payment.intent_id, 1000, "evt_refund_1b")
        assert support.post_event(client, app, again).get_json()["outcome"] == "repeat"
        db.session.rollback()
        assert db.session.get(Payment, gift.payment_id).refunded_minor == 1000
        assert donations.progress_for(db.session, appeal).raised_minor == 1500
        assert refunded_signals == [1000]

        # More than what is left is refused, and nothing is sent to the gateway.
        too_much = finance.post(f"/staff/donations/{gift.id}/refund",
                                {"amount": "15.01", "reason": "typo"})
        assert too_much.status_code == 422 and b"more than is left" in too_much.data
        no_reason = finance.post(f"/staff/donations/{gift.id}/refund",
                                 {"amount": "1", "reason": ""})
        assert no_reason.status_code == 422

        # The rest, then its webhook twice.
        finance.post(f"/staff/donations/{gift.id}/refund",
                     {"amount": "15", "reason": "Donor asked for the rest"})
        for event_id in ("evt_refund_2", "evt_refund_2", "evt_refund_2b"):
            event = support.charge_refunded(payment.intent_id, 2500, event_id)
            support.post_event(client, app, event)
        db.session.rollback()
        payment = db.session.get(Payment, gift.payment_id)
        assert (payment.status, payment.refunded_minor) == (states.REFUNDED, 2500)
        assert donations.progress_for(db.session, appeal).raised_minor == 0
        assert refunded_signals == [1000, 1500]
        numbers = db.session.scalars(select(StaffRefund.number).order_by(StaffRefund.id)).all()
        assert numbers == [1, 2]  # → idempotency keys …-refund-1, …-refund-2
        # The gateway agrees: two refunds on this intent, 10 + 15.
        refunds = gateway.client.v1.refunds.list(params={"payment_intent": payment.intent_id})
        assert sorted(r["amount"] for r in refunds.data) == [1000, 1500]
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions.count("refund.succeeded") == 2
    finally:
        signals.payment_refunded.disconnect(listener)


def test_an_early_webhook_then_the_staff_refund_still_counts_once(
        app, db, client, donor, localstripe, appeal, staff_client):
    """The webhook may beat our own bookkeeping (real Stripe sends it at once)."""
    public_id = paid_gift(donor, localstripe)
    gift = donations.by_public_id(db.session, public_id)
    early = support.charge_refunded(gift.payment.intent_id, 2500, "evt_early")
    support.post_event(client, app, early)
    db.session.rollback()
    assert db.session.get(Payment, gift.payment_id).status == states.REFUNDED
    finance = staff_client("finance")
    # Nothing left to refund: the page offers no form and the action refuses.
    response = finance.post(f"/staff/donations/{gift.id}/refund",
                            {"amount": "1", "reason": "again"})
    assert response.status_code == 422
    assert donations.progress_for(db.session, appeal).raised_minor == 0


def test_an_offline_gift_is_counted_and_audited(app, db, client, appeal, staff_client):
    finance = staff_client("finance")
    response = finance.post("/staff/gifts/new", {
        "appeal": appeal.id, "amount": "120.50", "name": "Ruth Cohen",
        "email": "Ruth@Example.org", "method": "cheque", "received_on": "2026-11-20",
        "note": "cheque 000123"})
    assert response.status_code == 303, response.data[:2000]
    db.session.rollback()
    progress = donations.progress_for(db.session, appeal)
    assert (progress.raised_minor, progress.donor_count) == (12050, 1)
    body = client.get(f"/api/v1/appeals/{appeal.slug}").get_json()
    assert body["raised_minor"] == 12050
    payment = db.session.scalar(select(Payment))
    assert (payment.provider, payment.status) == ("offline", states.SUCCEEDED)
    offline = db.session.scalar(select(OfflineGift))
    assert (offline.method, offline.note, offline.is_demo) == ("cheque", "cheque 000123", False)
    audit = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "gift.offline_recorded"))
    assert audit.actor_email == "finance@example.org" and '"amount_minor": 12050' in audit.details
    # An offline gift is not refundable through the card gateway.
    donation_id = int(response.headers["Location"].rsplit("/", 1)[1])
    refused = finance.post(f"/staff/donations/{donation_id}/refund",
                           {"amount": "1", "reason": "x"})
    assert refused.status_code == 422 and b"Only card gifts" in refused.data


def test_an_offline_gift_with_a_bad_amount_is_refused_and_nothing_is_written(
        db, appeal, staff_client):
    finance = staff_client("finance")
    for amount in ("abc", "0", "12.345", "-5"):
        response = finance.post("/staff/gifts/new", {
            "appeal": appeal.id, "amount": amount, "name": "X", "email": "x@example.org",
            "method": "cash", "received_on": "2026-11-20"})
        assert response.status_code == 422, amount
        assert b'aria-describedby="amount-hint amount-error"' in response.data \
            or b'aria-describedby="amount-hint' in response.data
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_demo_gifts_are_marked_and_counted(runner, db):
    runner.invoke(args=["demo"])
    result = runner.invoke(args=["demo-gifts", "40", "--seed", "3"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OfflineGift)
                             .where(OfflineGift.is_demo)) == 40
    total = sum(donations.progress_for(db.session, a).donation_count
                for a in db.session.scalars(select(Appeal)))
    assert total == 40


def test_demo_gifts_log_one_summary_line_and_each_gift_only_at_debug(runner, db, caplog):
    runner.invoke(args=["demo"])
    caplog.clear()
    with caplog.at_level(logging.INFO):
        result = runner.invoke(args=["demo-gifts", "12", "--seed", "5"])
    assert result.exit_code == 0, result.output
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(info) == 1, info
    assert "12 demo gift(s) added over the last 30 day(s)" in info[0]

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="fundraiser"):
        result = runner.invoke(args=["demo-gifts", "3", "--seed", "6"])
    assert result.exit_code == 0, result.output
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len([r for r in debug if r.getMessage().startswith("demo gift ")]) == 3
    # the payments' own per-gift lines are there too, but as DEBUG
    assert len([r for r in debug if r.name == "fundraiser.payments.moves"]) == 3
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(info) == 1 and info[0].startswith("demo-gifts: 3 demo gift(s) added"), info


def test_reserved_refunds_can_never_exceed_the_gift(db, appeal, make_staff):
    from fundraiser.payments import services as payment_services
    from fundraiser.staff import refund_services
    from tests.factories import create_donation

    actor = make_staff("finance")
    gift = create_donation(db.session, appeal, amount_minor=2500)
    db.session.execute(update(Payment).where(Payment.id == gift.payment_id)
                       .values(intent_id="pi_reserve"))
    payment_services.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    first = refund_services.begin_refund(db.session, donation=gift, amount_minor=2000,
                                         reason="first", actor=actor)
    db.session.commit()
    # The first is still pending at the gateway: only 5.00 is left to reserve.
    with pytest.raises(refund_services.RefundError):
        refund_services.begin_refund(db.session, donation=gift, amount_minor=1000, reason="second",
                                     actor=actor)
    db.session.rollback()
    second = refund_services.begin_refund(db.session, donation=gift, amount_minor=500,
                                          reason="second", actor=actor)
    assert (first.number, second.number) == (1, 2)
    assert refund_services.refund_key(gift.payment.reference, 2).endswith("-refund-2")
    # A failed attempt frees its amount again.
    refund_services.fail_refund(db.session, first.id, "card expired", actor)
    assert refund_services.refundable_minor(db.session, gift.payment) == 2000


def test_two_refunds_at_once_cannot_together_exceed_the_gift(app, db, appeal, make_staff):
    """Two finance people press Refund on the same gift at the same moment:
    the row lock lets exactly one reserve 20.00 of the 25.00."""
    import threading

    from fundraiser.extensions import db as ext_db
    from fundraiser.payments import services as payment_services
    from fundraiser.staff import refund_services
    from fundraiser.staff.models import StaffUser
    from tests.factories import create_donation

    make_staff("finance")
    gift = create_donation(db.session, appeal, amount_minor=2500)
    db.session.execute(update(Payment).where(Payment.id == gift.payment_id)
                       .values(intent_id="pi_race"))
    payment_services.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    gift_id = gift.id
    db.session.remove()  # no transaction (on SQLite: no lock) held by the test itself
    barrier = threading.Barrier(2)
    outcomes = []

    def press_refund():
        from fundraiser.donations.models import Donation

        with app.app_context():
            session = ext_db.session
            try:
                actor = session.scalar(select(StaffUser))
                session.rollback()  # hold nothing while waiting for the other thread
                barrier.wait(timeout=10)
                refund_services.begin_refund(session, donation=session.get(Donation, gift_id),
                                             amount_minor=2000, reason="race", actor=actor)
                session.commit()
                outcomes.append("reserved")
            except refund_services.RefundError:
                session.rollback()
                outcomes.append("refused")
            finally:
                session.remove()

    threads = [threading.Thread(target=press_refund) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["refused", "reserved"]
    assert db.session.scalar(select(func.sum(StaffRefund.amount_minor))) == 2000


def test_an_offline_gift_dated_in_the_future_is_refused(db, appeal, staff_client):
    finance = staff_client("finance")
    response = finance.post("/staff/gifts/new", {
        "appeal": appeal.id, "amount": "10", "name": "X", "email": "x@example.org",
        "method": "cash", "received_on": "2999-01-01"})
    assert response.status_code == 422 and b"in the future" in response.data
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def refund_the_whole_gift_without_an_answer(db, staff_client, gift):
    """Ask for a full refund the gateway does not carry out. Returns the page
    the finance person lands on, the payment, its refund row and what is left
    to refund."""
    from fundraiser.staff import refund_services

    finance = staff_client("finance")
    response = finance.post(f"/staff/donations/{gift.id}/refund",
                            {"amount": "25", "reason": "asked"})
    assert response.status_code == 303
    page = finance.get(response.headers["Location"]).text
    db.session.rollback()
    payment = db.session.get(Payment, gift.payment_id)
    assert (payment.status, payment.refunded_minor) == (states.SUCCEEDED, 0)
    return (page, db.session.scalar(select(StaffRefund)),
            refund_services.refundable_minor(db.session, payment))


def test_when_the_gateway_cannot_be_reached_the_refund_waits_for_reconcile(
        db, card_gift, staff_client):
    """No localstripe here: the gateway (127.0.0.1:9) cannot be reached. The
    SDK cannot tell a refused connection from one dropped after sending, so
    the refund stays pending and its money reserved (not free for a second
    refund) until reconcile asks Stripe."""
    page, refund, left = refund_the_whole_gift_without_an_answer(db, staff_client, card_gift)
    assert "did not confirm this refund" in page
    assert refund.status == "pending" and left == 0


def test_when_the_gateway_refuses_nothing_is_refunded_and_the_page_says_so(
        db, app, card_gift, staff_client, monkeypatch):
    def refuse(**_kw):
        raise GatewayError("charge already refunded")

    monkeypatch.setattr(app.extensions["fundraiser.gateway"], "refund", refuse)
    page, refund, left = refund_the_whole_gift_without_an_answer(db, staff_client, card_gift)
    assert "nothing was refunded" in page
    assert refund.status == "failed" and refund.error
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "refund.failed"))
    assert left == 2500   # the failed attempt does not hold the money


def test_the_donation_page_shows_each_status_change_and_its_cause(
        app, db, client, donor, localstripe, appeal, staff_client):
    public_id = paid_gift(donor, localstripe)
    gift = donations.by_public_id(db.session, public_id)
    intent_id, reference = gift.payment.intent_id, gift.payment.reference
    # A late payment_intent.succeeded repeats what we know: no new change.
    late = support.stripe_event("payment_intent.succeeded", support.intent_object(
        intent_id, "succeeded", 2500, "USD", reference), "evt_late")
    assert support.post_event(client, app, late).get_json()["outcome"] == "repeat"
    dispute = support.stripe_event("charge.dispute.created", {
        "id": "dp_1", "object": "dispute", "payment_intent": intent_id, "amount": 2500,
        "currency": "usd", "status": "needs_response"}, "evt_dispute")
    assert support.post_event(client, app, dispute).get_json()["outcome"] == "applied"
    db.session.rollback()
    changes = db.session.execute(
        select(PaymentStatusChange.from_status, PaymentStatusChange.to_status,
               PaymentStatusChange.cause)
        .where(PaymentStatusChange.payment_id == gift.payment_id)
        .order_by(PaymentStatusChange.id)).all()
    assert changes == [
        ("created", "processing", "card submitted"),
        ("processing", "succeeded", "gateway answer"),
        ("succeeded", "disputed", "webhook charge.dispute.created evt_dispute"),
    ]
    page = staff_client("viewer").get(f"/staff/donations/{gift.id}").text
    history = page[page.index('id="changes-heading"'):page.index('id="events-heading"')]
    assert "the donor submitted the card" in history
    assert "the payment service&#39;s answer to our request" in history
    assert "event from the payment service: charge.dispute.created evt_dispute" in history


def test_the_donation_page_names_the_card_as_the_receipt_does(
        app, db, client, donor, localstripe, appeal, staff_client):
    """Staff answering "which card did I use?" see what the donor's receipt
    says, never more of the card."""
    gift = donations.by_public_id(db.session, paid_gift(donor, localstripe))
    page = staff_client("viewer").get(f"/staff/donations/{gift.id}").text
    assert '<span data-field="method">Visa card ending 4242</span>' in page
    assert "424242" not in page.replace("ending 4242", "")
    db.session.execute(update(Payment).where(Payment.id == gift.payment_id)
                       .values(card_brand=None, card_last4=None))  # the gateway never said
    db.session.commit()
    page = staff_client("viewer").get(f"/staff/donations/{gift.id}").text
    assert '<span data-field="method">Card</span>' in page


def test_a_refund_and_an_offline_gift_name_the_staff_member_who_moved_them(
        db, donor, localstripe, appeal, staff_client):
    gift = donations.by_public_id(db.session, paid_gift(donor, localstripe))
    finance = staff_client("finance")
    finance.post(f"/staff/donations/{gift.id}/refund", {"amount": "25", "reason": "asked"})
    finance.post("/staff/gifts/new", {"appeal": appeal.id, "amount": "40", "name": "Cash Giver",
                                      "email": "cash@example.org", "method": "cash",
                                      "received_on": "2026-11-01"})
    db.session.rollback()
    causes = db.session.scalars(select(PaymentStatusChange.cause).where(
        PaymentStatusChange.to_status.in_(("refunded", "succeeded")))
        .order_by(PaymentStatusChange.id)).all()
    assert causes == ["gateway answer", "refund by finance@example.org",
                      "offline gift entered by finance@example.org"]
