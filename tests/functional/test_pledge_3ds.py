"""A saved-card pledge whose closing charge the pledger's bank wants
confirmed (3-D Secure off-session): localstripe answers the off-session
PaymentIntent for 4000 0027 6000 3184 with `requires_action`. The pledger is
mailed once a link to a page that completes the authentication; the charge
counts once, whether the webhook or the page reports it first."""

import re
from urllib.parse import urlsplit

import requests
from sqlalchemy import select

from fundraiser.donations.models import Donation
from fundraiser.matching import card_pledges
from fundraiser.matching.models import MatchPledge
from fundraiser.payments import states
from fundraiser.payments.models import Payment
from tests import support
from tests.functional.test_matching_card_pledge import api, confirm_card_setup, csrf_of

VISA = "4242424242424242"
THREE_DS = "4000002760003184"   # every charge needs 3-D Secure, off-session too
ASKED = "Please confirm your matching pledge to Test appeal: $30.00"
RECEIPT = "Your matching pledge to Test appeal: $30.00 charged"


def pledge_a_3ds_card(donor, client, db, amount="40", locale=None):
    gift = donor.start(amount="25", name="Dana Levi", email="dana@example.org")
    assert donor.charge(gift, support.card_token(donor.localstripe, VISA)) \
        .get_json()["status"] == "succeeded"
    if locale:
        db.session.execute(Donation.__table__.update().values(locale=locale))
        db.session.commit()
    thanks = client.get(f"/give/{gift}/thanks")
    made = client.post(f"/give/{gift}/pledge", data={
        "csrf_token": csrf_of(thanks.data), "amount": amount, "display_name": "Dana",
        "mode": "card_saved", "agree": "y"})
    assert made.status_code == 303, made.data[:3000]
    card_page = client.get(made.headers["Location"])
    secret = re.search(r'data-client-secret="([^"]+)"', card_page.data.decode()).group(1)
    # Saving this card asks for 3-D Secure too; "Complete authentication"
    # confirms the SetupIntent again (what the fake Stripe.js does).
    assert confirm_card_setup(donor.localstripe, secret, THREE_DS)["status"] == "requires_action"
    again = requests.post(
        f"{donor.localstripe}/v1/setup_intents/{secret.split('_secret_')[0]}/confirm",
        json={"key": "pk_test_localstripe", "use_stripe_sdk": True, "client_secret": secret},
        timeout=5)
    assert again.json()["status"] == "succeeded"
    code = made.headers["Location"].split("/match/")[1].split("/")[0]
    confirmed = client.post(f"/match/{code}/card/confirm", json={},
                            headers={"X-CSRFToken": csrf_of(card_page.data)})
    assert confirmed.get_json()["status"] == "active"
    friend = donor.start(amount="30", name="Noa", email="noa@example.org", source=code)
    donor.charge(friend, support.card_token(donor.localstripe, VISA))
    return code


def to_dana(app):
    return [m for m in app.extensions["mailman"].outbox if m.to == ["dana@example.org"]]


def link_in(mail) -> str:
    return re.search(r"http://\S+/pledge-charge/(\S+)", mail.body).group(0)


def path_of(url: str) -> str:
    return urlsplit(url).path


def close(runner):
    result = runner.invoke(args=["charge-pledges", "--appeal", "test-appeal", "--now"])
    assert result.exit_code == 0, result.output
    return result.output


def post_json(client, url, page_html):
    return client.post(url, json={}, headers={"X-CSRFToken": csrf_of(page_html)})


def the_pledge(db):
    db.session.rollback()
    pledge = db.session.scalar(select(MatchPledge))
    return pledge, db.session.get(Payment, pledge.charge_payment_id)


def test_a_charge_needing_3ds_waits_mails_once_and_is_charged_once_after_authentication(
        app, donor, appeal, client, db, runner, gateway):
    code = pledge_a_3ds_card(donor, client, db)
    assert (api(client)["raised_minor"], api(client)["matched_minor"]) == (5500, 3000)

    out = close(runner)
    assert "3000 minor units, requires_action (the pledger is asked to confirm it " \
           "with their bank)" in out
    pledge, charge = the_pledge(db)
    assert (pledge.status, charge.status, charge.amount_minor) == \
        ("closed", "requires_action", 3000)
    assert card_pledges.waits_for_pledger(db.session, pledge.id)
    assert gateway.retrieve(charge.intent_id).status == states.REQUIRES_ACTION
    # the pledger is asked once, with a link; nothing is charged or withdrawn
    mails = to_dana(app)
    assert [m.subject for m in mails] == ["Thank you for your gift to Test appeal", ASKED]
    assert "unlocked $30.00 of the $40.00 you pledged" in mails[1].body
    url = link_in(mails[1])
    assert url.startswith(app.config["APP_URL"].rstrip("/") + "/pledge-charge/")
    assert (api(client)["raised_minor"], api(client)["matched_minor"]) == (5500, 3000)
    assert "as soon as Dana confirms the payment with their bank" in \
        client.get(f"/match/{code}").data.decode()

    # a second run changes nothing and mails nothing
    assert "0 pledge(s) closed" in close(runner)
    assert len(to_dana(app)) == 2
    pledge, charge = the_pledge(db)
    assert (charge.status, pledge.auth_requested_at is not None) == ("requires_action", True)

    # the page says what will be charged and why
    path = path_of(url)
    page = client.get(path)
    assert page.status_code == 200
    html = page.data.decode()
    assert "Confirm with my bank and pay $30.00" in html
    assert "To be charged" in html and "$30.00" in html and "$40.00" in html
    assert "3-D Secure" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"

    # a failed authentication leaves it waiting, and the pledger may try again
    started = post_json(client, path + "/start", page.data).get_json()
    assert started["status"] == "requires_action"
    assert support.authenticate_3ds(donor.localstripe, started["client_secret"],
                                    False)["status"] == "requires_payment_method"
    failed = post_json(client, path + "/finish", page.data).get_json()
    assert failed["status"] == "failed"
    assert "did not confirm the payment, so nothing was charged" in failed["message"]
    pledge, charge = the_pledge(db)
    assert (pledge.status, charge.status) == ("closed", "requires_action")
    assert client.get(path).status_code == 200
    assert len(to_dana(app)) == 2

    # again: the intent is readied anew (it lost its card), and this time it works
    again = post_json(client, path + "/start", page.data).get_json()
    assert again["status"] == "requires_action"
    assert support.authenticate_3ds(donor.localstripe, again["client_secret"],
                                    True)["status"] == "succeeded"
    done = post_json(client, path + "/finish", page.data).get_json()
    assert done["status"] == "succeeded"
    pledge, charge = the_pledge(db)
    assert (pledge.status, charge.status) == ("closed", "succeeded")
    assert not card_pledges.waits_for_pledger(db.session, pledge.id)
    remote = gateway.retrieve(charge.intent_id)
    assert (remote.status, remote.amount_minor) == (states.SUCCEEDED, 3000)
    assert [m.subject for m in to_dana(app)][1:] == [ASKED, RECEIPT]
    assert charge.reference in to_dana(app)[2].body
    # counted once: the charge is the pledge's unlocked matching money
    body = api(client)
    assert (body["raised_minor"], body["matched_minor"], body["total_minor"]) == \
        (5500, 3000, 8500)

    # the webhook coming after the page changes nothing; the link is used up
    event = support.stripe_event("payment_intent.succeeded", support.intent_object(
        charge.intent_id, "succeeded", 3000, "USD", charge.reference), "evt_3ds_late")
    assert support.post_event(client, app, event).get_json()["outcome"] == "repeat"
    assert client.get(path).status_code == 404
    assert post_json(client, path + "/finish", page.data).get_json()["status"] == "succeeded"
    assert "0 pledge(s) closed" in close(runner)
    assert [m.subject for m in to_dana(app)].count(RECEIPT) == 1
    assert len(to_dana(app)) == 3
    assert "card was charged for what friends unlocked" in \
        client.get(f"/match/{code}").data.decode()


def test_the_webhook_first_then_the_page_charges_once(app, donor, appeal, client, db, runner,
                                                       gateway):
    pledge_a_3ds_card(donor, client, db)
    close(runner)
    path = path_of(link_in(to_dana(app)[-1]))
    page = client.get(path)
    secret = post_json(client, path + "/start", page.data).get_json()["client_secret"]
    assert support.authenticate_3ds(donor.localstripe, secret, True)["status"] == "succeeded"
    _pledge, charge = the_pledge(db)
    event = support.stripe_event("payment_intent.succeeded", support.intent_object(
        charge.intent_id, "succeeded", 3000, "USD", charge.reference), "evt_3ds_first")
    assert support.post_event(client, app, event).get_json()["outcome"] == "applied"
    assert post_json(client, path + "/finish", page.data).get_json()["status"] == "succeeded"
    _pledge, charge = the_pledge(db)
    assert charge.status == "succeeded"
    assert [m.subject for m in to_dana(app)][1:] == [ASKED, RECEIPT]
    assert client.get(path).status_code == 404


def test_a_failed_payment_event_while_waiting_does_not_withdraw_the_pledge(
        app, donor, appeal, client, db, runner):
    """Real Stripe reports a failed authentication with
    `payment_intent.payment_failed` (localstripe sends nothing): the pledge
    keeps waiting and its friends' gifts stay matched."""
    pledge_a_3ds_card(donor, client, db)
    close(runner)
    _pledge, charge = the_pledge(db)
    failed = support.intent_object(charge.intent_id, "requires_payment_method", 3000, "USD",
                                   charge.reference)
    failed["last_payment_error"] = {"code": "payment_intent_authentication_failure",
                                    "message": "The provided PaymentMethod has failed "
                                               "authentication."}
    event = support.stripe_event("payment_intent.payment_failed", failed, "evt_3ds_failed")
    assert support.post_event(client, app, event).get_json()["outcome"] == "applied"
    pledge, charge = the_pledge(db)
    assert (pledge.status, charge.status) == ("closed", "failed")
    assert card_pledges.waits_for_pledger(db.session, pledge.id)
    assert api(client)["matched_minor"] == 3000
    # the link still works, and a success after the failure still counts
    path = path_of(link_in(to_dana(app)[-1]))
    page = client.get(path)
    assert page.status_code == 200
    secret = post_json(client, path + "/start", page.data).get_json()["client_secret"]
    support.authenticate_3ds(donor.localstripe, secret, True)
    assert post_json(client, path + "/finish", page.data).get_json()["status"] == "succeeded"
    _pledge, charge = the_pledge(db)
    assert charge.status == "succeeded"
    assert [m.subject for m in to_dana(app)].count(RECEIPT) == 1


def test_a_hebrew_pledger_is_asked_in_hebrew(app, donor, appeal, client, db, runner):
    pledge_a_3ds_card(donor, client, db, locale="he")
    close(runner)
    mail = to_dana(app)[-1]
    assert "לאשר" in mail.subject, mail.subject
    assert "lang=he" in link_in(mail)
    page = client.get(path_of(link_in(mail)) + "?lang=he").data.decode()
    assert 'dir="rtl"' in page and "3-D Secure" in page


def test_a_wrong_token_is_not_found(client, appeal, db):
    assert client.get("/pledge-charge/nope").status_code == 404
    assert client.get("/pledge-charge/" + "x" * 300).status_code == 404
    assert client.post("/pledge-charge/nope/start", json={}).status_code in (400, 404)


def test_reconcile_after_a_failed_authentication_leaves_the_pledge_waiting(
        app, donor, appeal, client, db, runner):
    pledge_a_3ds_card(donor, client, db)
    close(runner)
    path = path_of(link_in(to_dana(app)[-1]))
    page = client.get(path)
    secret = post_json(client, path + "/start", page.data).get_json()["client_secret"]
    support.authenticate_3ds(donor.localstripe, secret, False)
    out = runner.invoke(args=["reconcile"]).output
    assert "requires_action -> failed" in out, out
    pledge, charge = the_pledge(db)
    assert (pledge.status, charge.status) == ("closed", "failed")
    assert card_pledges.waits_for_pledger(db.session, pledge.id)
    assert api(client)["matched_minor"] == 3000
    assert client.get(path).status_code == 200


def test_a_charge_left_waiting_without_asking_is_asked_by_the_next_run(
        app, donor, appeal, client, db, runner, gateway):
    """The run that charged it stopped before it could ask (or reconcile
    learnt the intent later): the next run asks, once."""
    pledge_a_3ds_card(donor, client, db)
    pledge_id = db.session.scalar(select(MatchPledge.id))
    card_pledges.close_card_pledge(db.session, pledge_id)
    db.session.commit()
    assert card_pledges.charge_closed_pledge(db.session, gateway, pledge_id) == \
        "requires_action"
    db.session.commit()
    assert len(to_dana(app)) == 1
    out = runner.invoke(args=["charge-pledges"]).output
    assert f"pledge {pledge_id}: the pledger is asked to confirm the charge" in out
    assert [m.subject for m in to_dana(app)] == ["Thank you for your gift to Test appeal", ASKED]
    assert "asked" not in runner.invoke(args=["charge-pledges"]).output
    assert len(to_dana(app)) == 2


def test_tries_at_the_bank_are_rate_limited(database_url):
    from tests.conftest import app_with

    with app_with(database_url, RATELIMIT_ENABLED=True, CHARGE_RATE_LIMIT="2 per minute",
                  WTF_CSRF_ENABLED=False) as limited:
        client = limited.test_client()
        codes = [client.post("/pledge-charge/nope/start", json={}).status_code
                 for _ in range(3)]
        assert codes == [404, 404, 429]
        refused = client.post("/pledge-charge/nope/start", json={})
        assert refused.status_code == 429 and refused.get_json()["message"]


def test_staff_see_the_waiting_charge_and_can_send_a_new_link_that_replaces_the_old(
        app, donor, appeal, client, db, runner):
    from fundraiser.staff import services as staff
    from fundraiser.staff.models import AuditEvent
    from tests.functional.staff.conftest import PASSWORD, StaffClient

    pledge_a_3ds_card(donor, client, db)
    close(runner)
    old_path = path_of(link_in(to_dana(app)[1]))
    for email, role in (("ed@example.org", "editor"), ("vi@example.org", "viewer")):
        user, _ = staff.create_staff(db.session, email, role)
        staff.set_password(db.session, user, PASSWORD)
    db.session.commit()
    editor, viewer = StaffClient(app, "ed@example.org"), StaffClient(app, "vi@example.org")
    editor.login()
    viewer.login()
    pledge, _charge = the_pledge(db)
    page_url = f"/staff/appeals/{pledge.appeal_id}/pledges"

    seen = viewer.get(page_url).data.decode()
    assert "Dana" in seen and "$40.00" in seen
    assert "waiting for the pledger's bank (3-D Secure)" in seen
    assert "1 pledge waits for its pledger to confirm the charge" in seen
    assert "Send a new link" not in seen                      # a viewer only reads
    assert "Send a new link" in editor.get(page_url).data.decode()

    sent = editor.post(f"{page_url}/{pledge.id}/send-link")
    assert sent.status_code == 303
    assert "A new link was sent to dana@example.org" in editor.get(page_url).data.decode()
    mails = to_dana(app)
    assert [m.subject for m in mails][1:] == [ASKED, ASKED]
    new_path = path_of(link_in(mails[2]))
    assert new_path != old_path
    assert client.get(old_path).status_code == 404            # the lost link stops working
    assert client.get(new_path).status_code == 200
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "pledge.auth_link_sent")) == "pledge.auth_link_sent"

    # another appeal's pledge id, or one that does not exist: 404, nothing sent
    assert editor.post(f"/staff/appeals/{pledge.appeal_id + 1}/pledges/{pledge.id}"
                       "/send-link").status_code == 404
    assert editor.post(f"{page_url}/99999/send-link").status_code == 404
    assert len(to_dana(app)) == 3


def test_a_pledger_still_waiting_days_later_is_reminded_once_with_a_new_link(
        app, donor, appeal, client, db, runner):
    from datetime import timedelta

    from fundraiser import tasks
    from fundraiser.payments.models import utcnow

    pledge_a_3ds_card(donor, client, db)
    close(runner)
    first = path_of(link_in(to_dana(app)[1]))
    assert tasks.pledgers_to_remind() == []          # asked just now: not yet
    pledge, _charge = the_pledge(db)
    db.session.execute(MatchPledge.__table__.update().values(
        auth_requested_at=utcnow() - timedelta(days=app.config["PLEDGE_REMIND_AFTER_DAYS"],
                                               minutes=1)))
    db.session.commit()

    out = close(runner)                              # cron's charge-pledges reminds too
    assert f"pledge {pledge.id}: the pledger is reminded" in out
    mails = to_dana(app)
    assert mails[-1].subject == "A reminder: " + ASKED[0].lower() + ASKED[1:]
    second = path_of(link_in(mails[-1]))
    assert second != first
    assert client.get(first).status_code == 404 and client.get(second).status_code == 200
    # once: neither the next run nor the scheduler's job sends another
    close(runner)
    assert tasks.remind_waiting_pledgers() == 0
    assert len(to_dana(app)) == 3
    pledge, _charge = the_pledge(db)
    assert pledge.auth_reminded_at is not None
