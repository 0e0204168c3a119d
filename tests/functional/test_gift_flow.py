"""Whole gifts through the Flask test client and a real localstripe process,
with real signed webhooks delivered over HTTP."""

import time

import requests
from sqlalchemy import func, select

from fundraiser.payments import states
from fundraiser.payments.models import Payment, WebhookEvent
from tests import support

VISA = "4242424242424242"
THREE_DS = "4000002760003184"
DECLINED = "4000000000000002"


def api(client, slug="test-appeal"):
    return client.get(f"/api/v1/appeals/{slug}").get_json()


def wait_for_event(db, intent_id, timeout=8.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = db.session.execute(select(WebhookEvent.outcome).where(
            WebhookEvent.object_id == intent_id,
            WebhookEvent.type == "payment_intent.succeeded")).first()
        db.session.rollback()  # hold no transaction (on SQLite: no lock) while waiting
        # Stored first ("received"), applied right after its commit.
        if row is not None and row.outcome != "received":
            return row
        time.sleep(0.2)
    return None


def test_a_card_gift_succeeds_and_moves_the_goal(donor, appeal, client, db, live_server):
    before = api(client)
    assert (before["raised_minor"], before["donor_count"]) == (0, 0)
    gift = donor.start(amount="25")
    answer = donor.charge(gift, support.card_token(donor.localstripe, VISA)).get_json()
    assert answer["status"] == "succeeded"
    thanks = client.get(answer["next"])
    assert b"Your gift has been received" in thanks.data
    after = api(client)
    assert (after["raised_minor"], after["total_minor"], after["donor_count"],
            after["donation_count"]) == (2500, 2500, 1, 1)
    # Stripe's own word arrives by webhook a second later and changes nothing.
    payment = db.session.scalar(select(Payment))
    event = wait_for_event(db, payment.intent_id)
    assert event is not None and event.outcome in ("repeat", "applied")
    assert api(client)["raised_minor"] == 2500
    # the page a donor sees shows the gift too
    page = client.get("/appeals/test-appeal").data.decode()
    assert "$25" in page and "Dana" in page


def test_three_d_secure_gift_succeeds_after_authentication(donor, appeal, client):
    gift = donor.start(amount="40")
    answer = donor.charge(gift, support.card_token(donor.localstripe, THREE_DS)).get_json()
    assert answer["status"] == "requires_action" and answer["client_secret"]
    assert api(client)["raised_minor"] == 0  # not before the bank says yes
    support.authenticate_3ds(donor.localstripe, answer["client_secret"], success=True)
    confirmed = donor.confirm(gift).get_json()
    assert confirmed["status"] == "succeeded"
    assert api(client)["raised_minor"] == 4000


def test_refused_authentication_fails_and_a_retry_works(donor, appeal, client, db):
    gift = donor.start(amount="40")
    answer = donor.charge(gift, support.card_token(donor.localstripe, THREE_DS)).get_json()
    support.authenticate_3ds(donor.localstripe, answer["client_secret"], success=False)
    confirmed = donor.confirm(gift).get_json()
    assert confirmed["status"] == "failed"
    thanks = client.get(f"/give/{gift}/thanks").data.decode()
    assert "did not go through" in thanks and "Try again with another card" in thanks
    assert api(client)["raised_minor"] == 0
    # the failed payment is never sent again …
    again = donor.charge(gift, support.card_token(donor.localstripe, VISA))
    assert again.status_code == 409 and again.get_json()["status"] == "failed"
    # … a retry is a new gift with the same details
    csrf = donor.csrf(client.get(f"/give/{gift}/thanks").data)
    retry = client.post(f"/give/{gift}/retry", data={"csrf_token": csrf})
    assert retry.status_code == 303
    new_gift = retry.headers["Location"].rsplit("/", 1)[1]
    assert new_gift != gift
    assert donor.charge(new_gift, support.card_token(donor.localstripe, VISA)) \
        .get_json()["status"] == "succeeded"
    result = api(client)
    assert (result["raised_minor"], result["donation_count"]) == (4000, 1)


def test_a_declined_card_says_so_and_counts_nothing(donor, appeal, client):
    gift = donor.start()
    answer = donor.charge(gift, support.card_token(donor.localstripe, DECLINED)).get_json()
    assert answer["status"] == "failed"
    assert "declined" in answer["message"]
    assert "Your card was declined" in client.get(f"/give/{gift}/thanks").data.decode()
    assert api(client)["raised_minor"] == 0


def test_a_double_submit_creates_one_payment_intent(donor, appeal, client, db, gateway):
    gift = donor.start()
    first = donor.charge(gift, support.card_token(donor.localstripe, VISA))
    second = donor.charge(gift, support.card_token(donor.localstripe, VISA))
    assert first.status_code == 200 and second.status_code == 409
    assert second.get_json()["status"] == "succeeded"
    reference = db.session.scalar(select(Payment.reference))
    intents = [i for i in gateway.recent_intents(0) if i.reference == reference]
    assert len(intents) == 1
    assert api(client)["raised_minor"] == 2500


def test_reconcile_repairs_a_gift_whose_webhook_never_came(donor, appeal, client, db, runner):
    gift = donor.start(amount="30")
    answer = donor.charge(gift, support.card_token(donor.localstripe, THREE_DS)).get_json()
    # The donor authenticates, then the tab closes before the page reports back,
    # and no webhook reaches us (none is registered for this app).
    support.authenticate_3ds(donor.localstripe, answer["client_secret"], success=True)
    assert api(client)["raised_minor"] == 0
    result = runner.invoke(args=["reconcile", "--since", "1d"])
    assert result.exit_code == 0, result.output
    assert "requires_action -> succeeded" in result.output
    assert api(client)["raised_minor"] == 3000
    # running it again changes nothing
    assert "0 payment(s) changed" in runner.invoke(args=["reconcile"]).output


def test_charge_refuses_a_missing_or_hostile_token(donor, appeal, client, db):
    gift = donor.start()
    csrf = donor.csrf(client.get(f"/give/{gift}").data)
    for body in ({}, {"token": ""}, {"token": 42}, {"token": "tok_" + "x" * 400},
                 {"token": "<script>alert(1)</script>"}):
        r = client.post(f"/give/{gift}/charge", json=body, headers={"X-CSRFToken": csrf})
        assert r.status_code == 400
        assert "did not reach us" in r.get_json()["message"]
    db.session.rollback()
    assert db.session.scalar(select(Payment.status)) == states.CREATED
    # and without the CSRF token nothing happens either
    r = client.post(f"/give/{gift}/charge",
                    json={"token": support.card_token(donor.localstripe, VISA)})
    assert r.status_code == 400
    db.session.rollback()
    assert db.session.scalar(select(Payment.status)) == states.CREATED


def test_unknown_gift_pages_are_not_found(client, appeal):
    assert client.get("/give/doesnotexist").status_code == 404
    assert client.get("/give/" + "x" * 500 + "/thanks").status_code == 404
    assert client.get("/give/nope/status").status_code == 404


def test_localstripe_is_bound_to_loopback_only(localstripe):
    assert localstripe.startswith("http://127.0.0.1:")
    assert requests.get(localstripe + "/js.stripe.com/v3/", timeout=5).status_code == 200


def test_no_payment_row_is_created_by_bad_form_input_count(db, appeal, donor):
    donor.fill_form("test-appeal", amount="other", other_amount="-1")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_card_gift_s_receipt_names_the_card_by_brand_and_last_four_only(
        donor, appeal, client, db, app):
    from tests.pdfs import attachments, pdf_text

    app.config["RECEIPT_PDF_ATTACHED"] = True
    gift = donor.start(amount="25")
    answer = donor.charge(gift, support.card_token(donor.localstripe, "5555555555554444"))
    assert answer.get_json()["status"] == "succeeded"
    payment = db.session.scalar(select(Payment))
    assert (payment.card_brand, payment.card_last4) == ("Visa", "4444")  # localstripe's brand
    [mail] = [m for m in app.extensions["mailman"].outbox if m.to == ["dana@example.org"]]
    assert "Payment method: Visa card ending 4444" in mail.body
    [pdf] = attachments(mail).values()
    text = pdf_text(pdf)
    assert "Visa card ending 4444" in text
    assert "5555" not in mail.body and "5555" not in text
