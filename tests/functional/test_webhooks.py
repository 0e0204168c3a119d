"""POST /webhooks/stripe: only signed, fresh events are stored, once."""

import time

import pytest
from sqlalchemy import func, select

from fundraiser.payments import states
from fundraiser.payments.models import Payment, WebhookEvent
from tests import support
from tests.factories import create_appeal, create_donation


@pytest.fixture
def gift(db):
    appeal = create_appeal(db.session)
    donation = create_donation(db.session, appeal)
    db.session.commit()
    return donation


def post(client, payload, signature):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post("/webhooks/stripe", data=payload, headers=headers)


def succeeded(gift, event_id="evt_ok"):
    obj = support.intent_object("pi_w", "succeeded", 2500, "USD", gift.payment.reference)
    return support.stripe_event("payment_intent.succeeded", obj, event_id)


def nothing_changed(db, gift):
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert db.session.get(Payment, gift.payment_id).status == states.CREATED


def test_a_signed_event_is_applied_and_a_replay_is_acknowledged(client, app, db, gift):
    payload = succeeded(gift)
    secret = app.config["STRIPE_WEBHOOK_SECRET"]
    first = post(client, payload, support.sign(payload, secret))
    assert first.status_code == 200 and first.get_json()["outcome"] == "applied"
    for _ in range(9):
        again = post(client, payload, support.sign(payload, secret))
        assert again.status_code == 200 and again.get_json()["outcome"] == "duplicate"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    assert db.session.get(Payment, gift.payment_id).status == states.SUCCEEDED


@pytest.mark.parametrize("how", ["wrong secret", "tampered body", "old timestamp",
                                 "future timestamp", "no header", "garbage header"])
def test_a_bad_signature_or_stale_timestamp_gets_400_and_changes_nothing(
        client, app, db, gift, how):
    payload = succeeded(gift)
    secret = app.config["STRIPE_WEBHOOK_SECRET"]
    signature = {
        "wrong secret": support.sign(payload, "whsec_wrong"),
        "tampered body": support.sign(payload, secret),
        "old timestamp": support.sign(payload, secret, int(time.time()) - 301),
        "future timestamp": support.sign(payload, secret, int(time.time()) + 3600),
        "no header": None,
        "garbage header": "t=abc,v1=<script>",
    }[how]
    body = payload.replace("2500", "2600") if how == "tampered body" else payload
    response = post(client, body, signature)
    if how == "future timestamp":
        # Stripe's library accepts clock skew forward; a forged one still needs the secret.
        assert response.status_code in (200, 400)
        return
    assert response.status_code == 400
    nothing_changed(db, gift)


@pytest.mark.parametrize("payload", [
    "", "not json", "[]", '{"id": 5}', '{"type": "payment_intent.succeeded"}',
    '{"id": "evt_x", "type": "x", "data": {"object": "str"}}', "\udcff",
])
def test_malformed_payloads_get_400_and_change_nothing(client, app, db, gift, payload):
    body = payload.encode("utf-8", "surrogateescape")
    signature = support.sign(body.decode("utf-8", "replace"), app.config["STRIPE_WEBHOOK_SECRET"])
    response = client.post("/webhooks/stripe", data=body,
                           headers={"Stripe-Signature": signature})
    assert response.status_code == 400
    nothing_changed(db, gift)


def test_an_oversized_payload_is_refused(client, app, db, gift):
    payload = '{"id": "evt_big", "pad": "' + "x" * 300_000 + '"}'
    response = post(client, payload, support.sign(payload, app.config["STRIPE_WEBHOOK_SECRET"]))
    assert response.status_code == 413
    nothing_changed(db, gift)


def test_events_for_unknown_payments_are_stored_and_acknowledged(client, app, db, gift):
    obj = support.intent_object("pi_other", "succeeded", 2500, "USD", "someone-elses-ref")
    payload = support.stripe_event("payment_intent.succeeded", obj, "evt_foreign")
    response = post(client, payload, support.sign(payload, app.config["STRIPE_WEBHOOK_SECRET"]))
    assert response.status_code == 200 and response.get_json()["outcome"] == "unmatched"
    db.session.rollback()
    assert db.session.get(Payment, gift.payment_id).status == states.CREATED


def test_webhooks_need_no_csrf_token_but_get_is_not_allowed(client):
    assert client.get("/webhooks/stripe").status_code == 405


def test_a_burst_of_deliveries_larger_than_the_connection_pool_is_stored_and_applied(
        app, db):
    """Stripe delivers events concurrently. Thirty at once to a threaded
    server (more than the default pool's 15 connections), with no queue, so
    each is applied in the request: every one is acknowledged and applied.
    (An inline job once ran while its request still held its connection: a
    burst held every connection waiting for a second one, and all of them
    answered 500 or 503 after the pool's 30 s.)"""
    import threading

    import requests

    appeal = create_appeal(db.session)
    gifts = [create_donation(db.session, appeal, email=f"d{i}@example.org") for i in range(30)]
    db.session.commit()
    payloads = [support.stripe_event("payment_intent.succeeded", support.intent_object(
        f"pi_burst{i}", "succeeded", 2500, "USD", gift.payment.reference), f"evt_burst{i}")
        for i, gift in enumerate(gifts)]
    db.session.rollback()  # the test's own session holds no connection meanwhile
    answers = {}
    start = threading.Barrier(len(payloads))

    def deliver(payload):
        start.wait()
        answers[payload] = requests.post(
            server.url + "/webhooks/stripe", data=payload, timeout=60, headers={
                "Content-Type": "application/json",
                "Stripe-Signature": support.sign(payload, app.config["STRIPE_WEBHOOK_SECRET"])})

    with support.LiveServer(app) as server:
        threads = [threading.Thread(target=deliver, args=(p,)) for p in payloads]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    codes = sorted(r.status_code for r in answers.values())
    assert codes == [200] * 30, (codes, server.errors[:1])
    assert {r.json()["outcome"] for r in answers.values()} == {"applied"}
    statuses = db.session.scalars(select(Payment.status).where(
        Payment.id.in_([g.payment_id for g in gifts]))).all()
    assert statuses == [states.SUCCEEDED] * 30
