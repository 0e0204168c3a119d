"""Hostile but signed webhook deliveries (issue 15): a body without
Content-Length is still capped, and an authentic event of the wrong shape is
stored and acknowledged (or refused with 400), never a 500."""

import io
import json

import pytest
import requests
from sqlalchemy import select

from fundraiser.payments import states
from fundraiser.payments.models import Payment, WebhookEvent
from fundraiser.payments.webhooks import MAX_WEBHOOK_BYTES
from tests import support
from tests.factories import create_appeal, create_donation


@pytest.fixture
def gift(db):
    appeal = create_appeal(db.session)
    donation = create_donation(db.session, appeal)
    db.session.commit()
    return donation


class CountingStream(io.BytesIO):
    """A request body that remembers how much of it the app read."""

    def __init__(self, data):
        super().__init__(data)
        self.consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    def readline(self, size=-1):
        chunk = super().readline(size)
        self.consumed += len(chunk)
        return chunk


def big_signed_event(app, gift, size):
    obj = support.intent_object("pi_big", "succeeded", 2500, "USD", gift.payment.reference)
    obj["metadata"]["pad"] = "x" * size
    payload = support.stripe_event("payment_intent.succeeded", obj, "evt_big")
    return payload, support.sign(payload, app.config["STRIPE_WEBHOOK_SECRET"])


def test_a_chunked_body_over_the_cap_is_refused_after_reading_only_the_cap(
        client, app, db, gift):
    payload, signature = big_signed_event(app, gift, 3 * 1024 * 1024)
    body = CountingStream(payload.encode())
    response = client.post("/webhooks/stripe", input_stream=body,
                           headers={"Transfer-Encoding": "chunked",
                                    "Content-Type": "application/json",
                                    "Stripe-Signature": signature},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert body.consumed <= MAX_WEBHOOK_BYTES + 1
    db.session.rollback()
    assert db.session.scalars(select(WebhookEvent)).all() == []
    assert db.session.get(Payment, gift.payment_id).status == states.CREATED


def test_over_http_a_chunked_signed_event_over_the_cap_gets_413(app, db, gift):
    payload, signature = big_signed_event(app, gift, 2_500_000)
    small, small_signature = big_signed_event(app, gift, 10)
    db.session.rollback()  # the server's thread writes; this one holds no lock

    def chunks(text):  # a generator body: requests sends it chunked, no Content-Length
        data = text.encode()
        for i in range(0, len(data), 65536):
            yield data[i:i + 65536]

    headers = {"Content-Type": "application/json"}
    with support.LiveServer(app) as server:
        big = requests.post(server.url + "/webhooks/stripe", data=chunks(payload),
                            headers={**headers, "Stripe-Signature": signature}, timeout=10)
        ok = requests.post(server.url + "/webhooks/stripe", data=chunks(small),
                           headers={**headers, "Stripe-Signature": small_signature},
                           timeout=10)
    assert big.status_code == 413
    assert ok.status_code == 200 and ok.json()["outcome"] == "applied"


def _intent(gift, **changes):
    obj = support.intent_object("pi_shape", "succeeded", 2500, "USD", gift.payment.reference)
    for key, value in changes.items():
        if value is ...:
            del obj[key]
        else:
            obj[key] = value
    return obj


SHAPES = {
    "no status": lambda g: _intent(g, status=...),
    "status is a list": lambda g: _intent(g, status=["succeeded"]),
    "no id": lambda g: _intent(g, id=...),
    "id is a number": lambda g: _intent(g, id=12),
    "id is an object": lambda g: _intent(g, id={"a": 1}),
    "no amount": lambda g: _intent(g, amount=...),
    "amount as a string": lambda g: _intent(g, amount="2500"),
    "amount as a fraction": lambda g: _intent(g, amount=2500.5),
    "amount is true": lambda g: _intent(g, amount=True),
    "no currency": lambda g: _intent(g, currency=...),
    "metadata is a string": lambda g: _intent(g, metadata="fundraiser_ref"),
    "error is a string": lambda g: _intent(g, last_payment_error="declined"),
    "error code is a number": lambda g: _intent(g, status="requires_payment_method",
                                                last_payment_error={"code": 5}),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_signed_payment_intent_of_the_wrong_shape_is_stored_and_acknowledged(
        client, app, db, gift, shape):
    payload = support.stripe_event("payment_intent.succeeded", SHAPES[shape](gift), "evt_bad")
    response = support.post_event(client, app, payload)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "malformed"
    db.session.rollback()
    stored = db.session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == "evt_bad"))
    assert stored.outcome == "malformed" and stored.payload == payload
    assert db.session.get(Payment, gift.payment_id).status == states.CREATED
    # Delivered again: the same event, acknowledged once more, still not applied.
    assert support.post_event(client, app, payload).get_json()["outcome"] == "duplicate"


FAILED_SHAPES = {
    "error is a list": {"last_payment_error": ["card_declined"]},
    "error message is a number": {"last_payment_error": {"code": "card_declined",
                                                          "message": 42}},
    "error message is an object": {"last_payment_error": {"message": {"text": "no"}}},
    "error code is a list": {"last_payment_error": {"code": ["a"], "message": "Declined"}},
    "status is a number": {"status": 3},
    "no status": {"status": ...},
}


@pytest.mark.parametrize("shape", sorted(FAILED_SHAPES))
def test_a_signed_payment_failed_event_of_the_wrong_shape_is_not_a_500(
        client, app, db, gift, shape):
    changes = {"status": "requires_payment_method", **FAILED_SHAPES[shape]}
    payload = support.stripe_event("payment_intent.payment_failed", _intent(gift, **changes),
                                   "evt_failed_bad")
    response = support.post_event(client, app, payload)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "malformed", response.get_json()
    db.session.rollback()
    payment = db.session.get(Payment, gift.payment_id)
    # Never counted, and any failure text kept is a short string.
    assert payment.status == states.CREATED


@pytest.mark.parametrize("refunded", ["100", 1.5, True, -5, None, {"x": 1}])
def test_a_signed_refund_event_of_the_wrong_shape_is_not_a_500(client, app, db, gift, refunded):
    good = support.stripe_event("payment_intent.succeeded", _intent(gift), "evt_paid")
    assert support.post_event(client, app, good).get_json()["outcome"] == "applied"
    event = json.loads(support.charge_refunded("pi_shape", 2500, "evt_refund"))
    event["data"]["object"]["amount_refunded"] = refunded
    response = support.post_event(client, app, json.dumps(event))
    assert response.status_code == 200
    assert response.get_json()["outcome"] in ("malformed", "repeat")
    db.session.rollback()
    payment = db.session.get(Payment, gift.payment_id)
    assert payment.status == states.SUCCEEDED and payment.refunded_minor == 0


@pytest.mark.parametrize("envelope", [
    {"data": {}},                                   # no data.object
    {"data": {"object": ["pi"]}},                   # object not a dict
    {"data": "x"},
    {"created": "yesterday"},
    {"created": [1]},
    {"type": None},
    {"id": ["evt"]},
])
def test_a_signed_event_without_a_usable_envelope_gets_400(client, app, db, gift, envelope):
    event = json.loads(support.stripe_event("payment_intent.succeeded", _intent(gift), "evt_e"))
    event.update(envelope)
    response = support.post_event(client, app, json.dumps(event))
    assert response.status_code == 400
    db.session.rollback()
    assert db.session.scalars(select(WebhookEvent)).all() == []
    assert db.session.get(Payment, gift.payment_id).status == states.CREATED
