"""A friend-match pledge charged at the close from a saved card (SetupIntent,
then an off-session PaymentIntent), against a real localstripe."""

import re

import requests
from sqlalchemy import select

from fundraiser.matching.models import MatchPledge
from fundraiser.payments import states
from fundraiser.payments.models import Payment
from tests import support

VISA = "4242424242424242"
DECLINES_LATER = "4000000000000341"   # saves fine, declines when charged


def confirm_card_setup(localstripe, client_secret, number):
    """What localstripe's fake Stripe.js confirmCardSetup() sends."""
    setup_id = client_secret.split("_secret_")[0]
    r = requests.post(f"{localstripe}/v1/setup_intents/{setup_id}/confirm", json={
        "key": "pk_test_localstripe", "use_stripe_sdk": True, "client_secret": client_secret,
        "payment_method_data": {"type": "card", "card": {
            "number": number, "exp_month": "12", "exp_year": "34", "cvc": "123"}}}, timeout=5)
    r.raise_for_status()
    return r.json()


def csrf_of(html: bytes) -> str:
    return re.search(rb'name="csrf-token" content="([^"]+)"', html).group(1).decode()


def api(client):
    return client.get("/api/v1/appeals/test-appeal").get_json()


def pledge_with_saved_card(donor, client, number, amount="40"):
    gift = donor.start(amount="25", name="Dana Levi", email="dana@example.org")
    assert donor.charge(gift, support.card_token(donor.localstripe, VISA)) \
        .get_json()["status"] == "succeeded"
    thanks = client.get(f"/give/{gift}/thanks")
    assert "Save my card:" in thanks.data.decode()
    made = client.post(f"/give/{gift}/pledge", data={
        "csrf_token": csrf_of(thanks.data), "amount": amount, "display_name": "Dana",
        "mode": "card_saved", "agree": "y"})
    assert made.status_code == 303, made.data[:3000]
    card_page = client.get(made.headers["Location"])
    page = card_page.data.decode()
    assert "Nothing is charged now" in page
    secret = re.search(r'data-client-secret="([^"]+)"', page).group(1)
    assert confirm_card_setup(donor.localstripe, secret, number)["status"] == "succeeded"
    code = made.headers["Location"].split("/match/")[1].split("/")[0]
    confirmed = client.post(f"/match/{code}/card/confirm", json={},
                            headers={"X-CSRFToken": csrf_of(card_page.data)})
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "active"
    return code


def test_a_saved_card_pledge_is_charged_exactly_what_friends_unlocked(
        app, donor, appeal, client, db, runner, gateway):
    code = pledge_with_saved_card(donor, client, VISA)
    page = client.get(f"/match/{code}").data.decode()
    assert "Dana will match your gift up to $40" in page
    assert "the card is charged for exactly what was unlocked" in page
    assert api(client)["pledges"][0]["paid_upfront"] is False
    friend = donor.start(amount="30", name="Noa", email="noa@example.org", source=code)
    assert "will be matched with $30.00 by Dana" in client.get(f"/give/{friend}").data.decode()
    donor.charge(friend, support.card_token(donor.localstripe, VISA))
    body = api(client)
    # the saved card's unlock is matching money; nothing of Dana's is in raised yet
    assert (body["raised_minor"], body["matched_minor"], body["total_minor"]) == \
        (5500, 3000, 8500)

    # the appeal is still open: nothing is charged
    early = runner.invoke(args=["charge-pledges"])
    assert early.exit_code == 0 and "0 pledge(s) closed" in early.output
    closing = runner.invoke(args=["charge-pledges", "--appeal", "test-appeal", "--now"])
    assert closing.exit_code == 0, closing.output
    assert "3000 minor units, succeeded" in closing.output
    db.session.rollback()
    pledge = db.session.scalar(select(MatchPledge))
    charge = db.session.get(Payment, pledge.charge_payment_id)
    assert (pledge.status, charge.status, charge.amount_minor) == ("closed", "succeeded", 3000)
    remote = gateway.retrieve(charge.intent_id)   # what localstripe really charged
    assert (remote.status, remote.amount_minor, remote.reference) == \
        (states.SUCCEEDED, 3000, charge.reference)
    body = api(client)
    assert (body["raised_minor"], body["matched_minor"], body["total_minor"]) == \
        (5500, 3000, 8500)   # counted once
    assert body["pledges"][0]["status"] == "closed"
    # Dana gets a receipt for the charge: what was pledged, what was unlocked.
    outbox = app.extensions["mailman"].outbox
    to_dana = [m for m in outbox if m.to == ["dana@example.org"]]
    assert [m.subject for m in to_dana] == [
        "Thank you for your gift to Test appeal",
        "Your matching pledge to Test appeal: $30.00 charged"]
    assert "You pledged up to $40.00; their gifts unlocked $30.00" in to_dana[1].body
    assert charge.reference in to_dana[1].body
    # a closed pledge matches no more, and a second run charges nothing
    late = donor.start(amount="5", name="Omri", email="omri@example.org", source=code)
    donor.charge(late, support.card_token(donor.localstripe, VISA))
    assert api(client)["matched_minor"] == 3000
    assert "0 pledge(s) closed" in runner.invoke(
        args=["charge-pledges", "--appeal", "test-appeal", "--now"]).output
    # its webhook, arriving later, sends no second receipt
    event = support.stripe_event("payment_intent.succeeded", support.intent_object(
        charge.intent_id, "succeeded", 3000, "USD", charge.reference), "evt_close_late")
    assert support.post_event(client, app, event).get_json()["outcome"] == "repeat"
    assert len([m for m in outbox if m.to == ["dana@example.org"]]) == 2


def test_a_declined_charge_at_the_close_withdraws_the_pledge(donor, appeal, client, db, runner):
    code = pledge_with_saved_card(donor, client, DECLINES_LATER)
    friend = donor.start(amount="20", name="Noa", email="noa@example.org", source=code)
    donor.charge(friend, support.card_token(donor.localstripe, VISA))
    assert api(client)["matched_minor"] == 2000
    out = runner.invoke(args=["charge-pledges", "--appeal", "test-appeal", "--now"]).output
    assert "2000 minor units, failed" in out
    db.session.rollback()
    pledge = db.session.scalar(select(MatchPledge))
    assert pledge.status == "withdrawn"
    body = api(client)
    assert (body["matched_minor"], body["pledges"]) == (0, [])
    assert "pledge withdrawn: line" in client.get("/appeals/test-appeal/matching").data.decode()
    # the pledger's page says what happened, in plain words
    page = client.get(f"/match/{code}").data.decode()
    assert "the saved card could not be charged when the appeal closed" in page


def test_the_card_page_is_only_for_a_pending_saved_card_pledge(client, appeal):
    assert client.get("/match/nope/card").status_code == 404
    assert client.post("/match/nope/card/confirm", json={}).status_code in (400, 404)
