"""Monthly gifts (issue 18): a Stripe Subscription on localstripe, its first
instalment through the card page (3-D Secure included), renewals and
failures by signed invoice events of the shape localstripe gives them."""

import re

import pytest
from sqlalchemy import func, select

from fundraiser.donations.models import Donation, Subscription
from fundraiser.matching import services as matching
from fundraiser.matching.models import MONTHLY_X12
from fundraiser.payments import states
from fundraiser.payments.models import Payment
from tests import support

VISA = "4242424242424242"
THREE_DS = "4000002760003184"


def api(client, slug="test-appeal"):
    return client.get(f"/api/v1/appeals/{slug}").get_json()


def post_event(client, app, type_, obj, event_id=None):
    payload = support.stripe_event(type_, obj, event_id)
    return client.post("/webhooks/stripe", data=payload, headers={
        "Content-Type": "application/json",
        "Stripe-Signature": support.sign(payload, app.config["STRIPE_WEBHOOK_SECRET"])})


def start_monthly(donor, client, number=VISA, amount="25", **fields):
    gift = donor.start(amount=amount, frequency="monthly", **fields)
    page = client.get(f"/give/{gift}").data.decode()
    assert "now and on the" in page and "of every month until you cancel" in page
    assert f"Give ${amount}.00 monthly" in page
    return gift, donor.charge(gift, support.card_token(donor.localstripe, number)).get_json()


def the_subscription(db):
    db.session.rollback()
    return db.session.scalar(select(Subscription))


def renew(gateway, sub):
    """What Stripe does a month later: an invoice for the subscription, paid
    (localstripe does not advance time, so it is asked to)."""
    invoice = gateway.client.v1.invoices.create(
        params={"customer": sub.customer_id, "subscription": sub.gateway_id})
    gateway.client.v1.invoices.pay(invoice.id)
    return gateway.client.v1.invoices.retrieve(invoice.id).to_dict()


def test_one_time_is_the_default(client, appeal):
    page = client.get("/appeals/test-appeal").data.decode()
    once = re.search(r'<input[^>]*value="once"[^>]*>', page).group(0)
    monthly = re.search(r'<input[^>]*value="monthly"[^>]*>', page).group(0)
    assert "checked" in once and "checked" not in monthly


def test_a_monthly_gift_counts_its_first_instalment_and_matches_by_the_monthly_rule(
        donor, appeal, client, db, gateway, app):
    matching.create_pool(db.session, appeal_id=appeal.id, currency="USD", cap_minor=100_000,
                         sponsor_name="Ruth", monthly_rule=MONTHLY_X12)
    db.session.commit()
    gift, answer = start_monthly(donor, client)
    assert answer["status"] == "succeeded"
    assert "This is the first of your monthly gifts of $25.00" in client.get(answer["next"]).text
    sub = the_subscription(db)
    assert sub.status == "active" and sub.gateway_id.startswith("sub_")
    assert gateway.client.v1.subscriptions.retrieve(sub.gateway_id).status == "active"
    body = api(client)
    # counted once, and matched as a year of gifts (x12) by Ruth's pool, 1:1
    assert (body["raised_minor"], body["matched_minor"], body["donation_count"]) == \
        (2500, 30000, 1)
    # Stripe's own word about the first invoice changes nothing
    first_invoice = gateway.client.v1.invoices.retrieve(
        gateway.client.v1.subscriptions.retrieve(sub.gateway_id).latest_invoice).to_dict()
    assert post_event(client, app, "invoice.payment_succeeded", first_invoice).status_code == 200
    assert api(client)["raised_minor"] == 2500
    db.session.rollback()
    assert db.session.scalar(select(Donation.invoice_id)) == first_invoice["id"]


def test_a_renewal_is_counted_once_however_often_its_event_arrives(
        donor, appeal, client, db, gateway, app):
    matching.create_pool(db.session, appeal_id=appeal.id, currency="USD", cap_minor=100_000,
                         sponsor_name="Ruth")
    db.session.commit()
    start_monthly(donor, client, amount="30")
    sub = the_subscription(db)
    invoice = renew(gateway, sub)
    assert invoice["status"] == "paid" and invoice["amount_paid"] == 3000
    first = post_event(client, app, "invoice.payment_succeeded", invoice, "evt_renew_1")
    assert first.get_json()["outcome"] == "applied"
    # the same event again, and the same invoice under another event id
    again = post_event(client, app, "invoice.payment_succeeded", invoice, "evt_renew_1")
    assert again.get_json()["outcome"] == "duplicate"
    other = post_event(client, app, "invoice.payment_succeeded", invoice, "evt_renew_2")
    assert other.get_json()["outcome"] == "repeat"
    body = api(client)
    assert (body["raised_minor"], body["matched_minor"], body["donation_count"],
            body["donor_count"]) == (6000, 6000, 2, 1)
    db.session.rollback()
    renewal = db.session.scalar(select(Donation).order_by(Donation.id.desc()))
    assert renewal.subscription_id == sub.id and renewal.invoice_id == invoice["id"]
    assert renewal.payment.intent_id == invoice["payment_intent"]
    assert renewal.receipt_number is not None  # receipted like any gift
    # charged to the subscription's card, and its receipt says which
    assert (renewal.payment.card_brand, renewal.payment.card_last4) == ("Visa", "4242")


def test_three_d_secure_on_the_first_invoice(donor, appeal, client, db, gateway):
    gift, answer = start_monthly(donor, client, number=THREE_DS, amount="40")
    assert answer["status"] == "requires_action" and answer["client_secret"]
    assert api(client)["raised_minor"] == 0
    assert the_subscription(db).status == "incomplete"
    support.authenticate_3ds(donor.localstripe, answer["client_secret"], success=True)
    assert donor.confirm(gift).get_json()["status"] == "succeeded"
    assert api(client)["raised_minor"] == 4000
    sub = the_subscription(db)
    assert sub.status == "active"
    assert gateway.client.v1.subscriptions.retrieve(sub.gateway_id).status == "active"


def test_a_failed_instalment_marks_past_due_and_mails_once(donor, appeal, client, db, app):
    start_monthly(donor, client)
    sub = the_subscription(db)
    outbox = app.extensions["mailman"].outbox
    before = len(outbox)
    failed = {"id": "in_failed_1", "object": "invoice", "subscription": sub.gateway_id,
              "customer": sub.customer_id, "amount_paid": 0, "amount_due": 2500,
              "currency": "usd", "payment_intent": "pi_failed_1", "status": "open"}
    outcomes = [post_event(client, app, "invoice.payment_failed", failed).get_json()["outcome"]
                for _ in range(3)]
    assert outcomes == ["applied", "repeat", "repeat"]
    assert the_subscription(db).status == "past_due"
    mails = outbox[before:]
    assert len(mails) == 1 and mails[0].to == ["dana@example.org"]
    assert "did not go through" in mails[0].subject and "/my-gifts" in mails[0].body
    assert api(client)["raised_minor"] == 2500


def test_subscription_deleted_ends_it(donor, appeal, client, db, app, gateway):
    start_monthly(donor, client)
    sub = the_subscription(db)
    gone = gateway.client.v1.subscriptions.cancel(sub.gateway_id).to_dict()
    assert post_event(client, app, "customer.subscription.deleted", gone).get_json()[
        "outcome"] == "applied"
    sub = the_subscription(db)
    assert sub.status == "canceled" and sub.canceled_at is not None
    assert post_event(client, app, "customer.subscription.deleted", gone).get_json()[
        "outcome"] == "repeat"


@pytest.mark.parametrize("frequency", ["weekly", "", "monthly\x00", "x" * 5000])
def test_hostile_frequencies_are_refused_cleanly(donor, appeal, client, db, frequency):
    response = donor.fill_form("test-appeal", frequency=frequency)
    assert response.status_code == 422
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_malformed_invoice_events_are_kept_not_applied(donor, appeal, client, db, app):
    start_monthly(donor, client)
    sub = the_subscription(db)
    for obj in ({"id": 5, "subscription": sub.gateway_id},
                {"id": "in_x", "subscription": sub.gateway_id, "amount_paid": "12",
                 "currency": "usd"},
                {"id": "in_y", "subscription": sub.gateway_id, "amount_paid": True,
                 "currency": "usd"}):
        answer = post_event(client, app, "invoice.payment_succeeded", obj)
        assert answer.status_code == 200 and answer.get_json()["outcome"] == "malformed"
    assert api(client)["raised_minor"] == 2500
    assert states.SUCCEEDED == db.session.scalar(select(Payment.status))


def sign_in(client, app, email="dana@example.org"):
    from tests.functional.test_donor_portal import ask, link_in, open_link, portal_mails

    assert ask(client, email).status_code == 200
    open_link(client, link_in(portal_mails(app)[-1]))


def test_the_donor_cancels_from_the_portal_and_stripe_shows_it_canceled(
        donor, appeal, client, db, app, gateway):
    start_monthly(donor, client, amount="15")
    sub = the_subscription(db)
    sign_in(client, app)
    page = client.get("/my-gifts").data.decode()
    assert "Monthly and yearly gifts" in page and "$15.00 a month" in page and "Active" in page
    action = f"/my-gifts/monthly/{sub.public_id}/cancel"
    assert action in page
    # without the CSRF token nothing happens
    client.post(action, data={})
    assert the_subscription(db).status == "active"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    done = client.post(action, data={"csrf_token": token})
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).data.decode()
    assert "Your monthly gift is cancelled" in page and "Cancel this monthly gift" not in page
    assert the_subscription(db).status == "canceled"
    assert gateway.client.v1.subscriptions.retrieve(sub.gateway_id).status == "canceled"
    # the gift already made still counts
    assert api(client)["raised_minor"] == 1500


def test_a_donor_cannot_cancel_another_donors_monthly_gift(donor, appeal, client, db, app):
    start_monthly(donor, client, email="other@example.org")
    sub = the_subscription(db)
    once = donor.start(amount="5")  # dana gives once, and has no monthly gift
    donor.charge(once, support.card_token(donor.localstripe, VISA))
    sign_in(client, app)
    assert f"/my-gifts/monthly/{sub.public_id}/cancel" not in client.get("/my-gifts").text
    page = client.get("/my-gifts").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(f"/my-gifts/monthly/{sub.public_id}/cancel", data={"csrf_token": token})
    assert the_subscription(db).status == "active"


def test_staff_filter_the_donations_table_by_one_time_or_monthly(donor, appeal, client, db):
    from fundraiser.staff import reports

    start_monthly(donor, client, email="monthly@example.org")
    once = donor.start(amount="7", email="once@example.org")
    donor.charge(once, support.card_token(donor.localstripe, VISA))
    db.session.rollback()

    def emails(**args):
        query = reports.filtered_donations(db.session, reports.parse_filters(args))
        return sorted(d.email for d in db.session.scalars(query))

    assert emails(frequency="monthly") == ["monthly@example.org"]
    assert emails(frequency="once") == ["once@example.org"]
    assert emails(frequency="yearly") == []
    assert emails(frequency="weekly") == emails() == ["monthly@example.org", "once@example.org"]


def test_erasing_my_data_removes_the_address_from_monthly_gifts(donor, appeal, client, db, app):
    start_monthly(donor, client)
    sign_in(client, app)
    page = client.get("/my-gifts/erase").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/my-gifts/erase", data={"csrf_token": token, "confirm": "y"}) \
        .status_code == 200
    sub = the_subscription(db)
    assert sub.email.endswith("@erased.invalid")
    assert api(client)["raised_minor"] == 2500


def test_a_monthly_gift_whose_authentication_failed_stays_monthly_on_retry(
        donor, appeal, client, db):
    gift, answer = start_monthly(donor, client, number=THREE_DS, amount="20")
    support.authenticate_3ds(donor.localstripe, answer["client_secret"], success=False)
    assert donor.confirm(gift).get_json()["status"] == "failed"
    page = client.get(f"/give/{gift}/thanks")
    assert "Try again with another card" in page.text
    token = donor.csrf(page.data)
    again = client.post(f"/give/{gift}/retry", data={"csrf_token": token})
    assert again.status_code == 303
    retry = again.headers["Location"].rsplit("/", 1)[1]
    assert "of every month until you cancel" in client.get(f"/give/{retry}").text
    assert donor.charge(retry, support.card_token(donor.localstripe, VISA)) \
        .get_json()["status"] == "succeeded"
    db.session.rollback()
    subs = db.session.scalars(select(Subscription).order_by(Subscription.id)).all()
    assert [s.status for s in subs] == ["incomplete", "active"]
    assert api(client)["raised_minor"] == 2000


def wait_for_invoice_events(db, subscription_id, count, localstripe, server, timeout=30.0):
    """Our subscription's invoice events, once `count` of them are in and
    applied. (localstripe waits a second before each delivery; 10 s were
    once not enough in a full run on two busy cores, so the wait is 30 s,
    ended as soon as they are in.) On a timeout the test fails with every
    event this server stored and the end of localstripe's log: what did
    arrive, in which state, what localstripe says it sent, and the errors
    the server raised."""
    import time

    from fundraiser.payments.models import WebhookEvent

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcomes = db.session.scalars(select(WebhookEvent.outcome).where(
            WebhookEvent.type == "invoice.payment_succeeded",
            WebhookEvent.payload.contains(subscription_id))).all()
        db.session.rollback()  # hold no transaction (on SQLite: no lock) while waiting
        if len(outcomes) >= count and "received" not in outcomes:
            return outcomes
        time.sleep(0.2)
    stored = [(e.id, e.type, e.outcome, subscription_id in (e.payload or ""))
              for e in db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]
    db.session.rollback()
    pytest.fail(f"{count} applied invoice event(s) for {subscription_id} not in after "
                f"{timeout:.0f} s. Stored (id, type, outcome, ours): {stored}\n"
                f"localstripe's log ends:\n{support.localstripe_log_tail(localstripe)}\n"
                f"The server's errors:\n{''.join(server.errors) or '(none)'}")


def test_localstripe_delivers_the_first_and_a_renewal_invoice_by_webhook(
        donor, appeal, client, db, gateway, live_server):
    start_monthly(donor, client, amount="9")
    sub = the_subscription(db)
    wait_for_invoice_events(db, sub.gateway_id, 1, donor.localstripe, live_server)
    renew(gateway, sub)
    outcomes = wait_for_invoice_events(db, sub.gateway_id, 2, donor.localstripe,
                                       live_server)
    assert sorted(outcomes) == ["applied", "applied"]
    body = api(client)
    assert (body["raised_minor"], body["donation_count"]) == (1800, 2)


def test_staff_see_a_donors_monthly_gifts_on_their_page(donor, appeal, client, db, app):
    from fundraiser.staff import services as staff
    from tests.functional.staff.conftest import PASSWORD, StaffClient

    start_monthly(donor, client, amount="11")
    user, _ = staff.create_staff(db.session, "viewer@example.org", "viewer")
    staff.set_password(db.session, user, PASSWORD)
    db.session.commit()
    viewer = StaffClient(app, "viewer@example.org")
    viewer.login()
    page = viewer.get("/staff/donors/gifts?email=dana@example.org")
    assert page.status_code == 200
    assert "Monthly and yearly gifts" in page.text and "$11.00 a month" in page.text
    assert "Active" in page.text


def test_the_first_instalment_keeps_the_card_s_brand_and_last_four_for_its_receipt(
        donor, appeal, client, db):
    _gift, answer = start_monthly(donor, client, number="5555555555554444", amount="9")
    assert answer["status"] == "succeeded"
    db.session.rollback()
    first = db.session.scalar(select(Payment).join(Donation, Donation.payment_id == Payment.id)
                              .where(Donation.subscription_id.is_not(None)))
    assert (first.card_brand, first.card_last4) == ("Visa", "4444")  # localstripe's brand
