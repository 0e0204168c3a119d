"""A donor changes their own monthly or yearly gift from the portal (issue
18): a new amount, pause and resume, another card (a SetupIntent), against
a real localstripe; and yearly gifts from the gift form on. Only the
signed-in donor's own gifts, CSRF on every change, an audit line for each,
and a repeated action changes nothing more."""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import func, select

from fundraiser.donations.models import Donation, Subscription
from fundraiser.matching import services as matching
from fundraiser.matching.models import MONTHLY_X12
from fundraiser.staff.models import AuditEvent
from tests import support
from tests.functional.test_matching_card_pledge import confirm_card_setup
from tests.functional.test_monthly_gifts import (
    VISA,
    api,
    post_event,
    renew,
    sign_in,
    start_monthly,
    the_subscription,
)

DECLINED = "4000000000000002"
MASTERCARD = "5555555555554444"


def page_token(client, url="/my-gifts") -> str:
    page = client.get(url).text
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def change(client, sub, amount, token=None):
    return client.post(f"/my-gifts/monthly/{sub.public_id}/amount", data={
        f"m-{sub.public_id}-csrf_token": token or page_token(client),
        f"m-{sub.public_id}-amount": amount})


def press(client, sub, action):
    return client.post(f"/my-gifts/monthly/{sub.public_id}/{action}",
                       data={"csrf_token": page_token(client)})


def audits(db, action):
    db.session.rollback()
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == f"donor.recurring.{action}")).all()


def plan_of(gateway, sub):
    item = gateway.client.v1.subscriptions.retrieve(sub.gateway_id).to_dict()["items"]["data"][0]
    return item["plan"]


@pytest.fixture
def monthly(donor, appeal, client, db, app):
    start_monthly(donor, client, amount="25")
    sign_in(client, app)
    return the_subscription(db)


# -- a new amount ---------------------------------------------------------------------

def test_the_donor_changes_the_amount_and_stripe_charges_it_next(
        monthly, client, db, gateway):
    page = client.get("/my-gifts").text
    assert f'id="m-{monthly.public_id}-amount"' in page and 'value="25"' in page
    assert "From $1 to $100,000 a month" in page
    done = change(client, monthly, "30")
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).text
    assert "Your monthly gift is now $30.00 a month, from the next payment on." in page
    assert "$30.00 a month" in page
    sub = the_subscription(db)
    assert sub.amount_minor == 3000
    plan = plan_of(gateway, sub)
    assert (plan["amount"], plan["interval"], plan["currency"]) == (3000, "month", "usd")
    # The next invoice is the new amount: no proration credit or charge now.
    invoice = renew(gateway, sub)
    assert (invoice["amount_paid"], invoice["status"]) == (3000, "paid")
    [line] = audits(db, "amount")
    assert '"from": 2500' in line.details and '"to": 3000' in line.details
    assert line.target_id == str(sub.id)
    # The same amount again: said plainly, nothing changed, nothing logged.
    again = change(client, sub, "30.00")
    assert "Your gift is already $30.00. Nothing has changed." in \
        client.get(again.headers["Location"]).text
    assert len(audits(db, "amount")) == 1
    assert the_subscription(db).amount_minor == 3000


@pytest.mark.parametrize(("typed", "says"), [
    ("0", "The smallest gift we can take is $1.00."),
    ("-5", "Please enter an amount as a number"),
    ("1000000000", "The largest gift we can take online is $100,000.00."),
    ("100001", "The largest gift we can take online is $100,000.00."),
    ("abc", "Please enter an amount as a number"),
    ("1e5", "Please enter an amount as a number"),
    ("12.345", "Please use at most 2 decimal places."),
    ("", "Please enter the new amount."),
    ("9" * 5000, "Please enter an amount as a number."),
    ("25\x00", "Please enter an amount as a number"),
])
def test_a_refused_amount_is_explained_beside_the_field_and_changes_nothing(
        monthly, client, db, gateway, typed, says):
    answer = change(client, monthly, typed)
    assert answer.status_code == 422
    error = re.search(rf'<p class="field-error" id="m-{re.escape(monthly.public_id)}'
                      r'-amount-error"[^>]*>([^<]*)</p>', answer.text)
    assert error is not None and says in error.group(1).replace("&#39;", "'")
    assert f'aria-describedby="m-{monthly.public_id}-amount-hint ' \
           f'm-{monthly.public_id}-amount-error"' in answer.text
    assert the_subscription(db).amount_minor == 2500
    assert plan_of(gateway, monthly)["amount"] == 2500
    assert audits(db, "amount") == []


# -- another donor's gift, no CSRF token ------------------------------------------------

def test_another_donors_gift_is_not_found_and_untouched(donor, appeal, client, db, app,
                                                        gateway):
    start_monthly(donor, client, email="other@example.org")
    theirs = the_subscription(db)
    once = donor.start(amount="5")  # dana gives once
    donor.charge(once, support.card_token(donor.localstripe, VISA))
    sign_in(client, app)
    token = page_token(client)
    base = f"/my-gifts/monthly/{theirs.public_id}"
    assert change(client, theirs, "50", token).status_code == 404
    for action in ("pause", "resume", "cancel"):
        assert client.post(f"{base}/{action}", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{base}/card").status_code == 404
    assert client.post(f"{base}/card", json={},
                       headers={"X-CSRFToken": token}).status_code == 404
    for unknown in ("nope", "x" * 40):
        assert client.post(f"/my-gifts/monthly/{unknown}/pause",
                           data={"csrf_token": token}).status_code == 404
    sub = the_subscription(db)
    assert (sub.amount_minor, sub.status, sub.paused_at) == (2500, "active", None)
    live = gateway.client.v1.subscriptions.retrieve(sub.gateway_id)
    assert live.status == "active" and not live.cancel_at_period_end
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.startswith("donor.recurring"))) == 0


def test_without_the_csrf_token_nothing_changes(monthly, client, db, gateway):
    base = f"/my-gifts/monthly/{monthly.public_id}"
    assert client.post(f"{base}/pause", data={}).status_code == 400
    assert client.post(f"{base}/amount", data={
        f"m-{monthly.public_id}-amount": "40"}).status_code == 400
    assert client.post(f"{base}/card", json={}).status_code == 400
    sub = the_subscription(db)
    assert (sub.amount_minor, sub.paused_at) == (2500, None)
    assert not gateway.client.v1.subscriptions.retrieve(sub.gateway_id).cancel_at_period_end


def test_after_the_session_ends_the_controls_ask_for_a_new_link(monthly, client, db):
    client.post("/my-gifts/sign-out", data={"csrf_token": page_token(client)})
    token = page_token(client)
    answer = client.post(f"/my-gifts/monthly/{monthly.public_id}/pause",
                         data={"csrf_token": token})
    assert answer.status_code == 403
    assert the_subscription(db).paused_at is None


# -- pause and resume ---------------------------------------------------------------------

def test_pause_then_resume_within_the_period(monthly, client, db, gateway):
    done = press(client, monthly, "pause")
    page = client.get(done.headers["Location"]).text
    assert "Your gift is paused. Nothing more will be charged until you resume it." in page
    assert "Paused on" in page and ">Resume<" in page and ">Pause<" not in page
    # said before the donor presses Resume, not after
    assert "resuming charges the next payment at once" in page
    sub = the_subscription(db)
    assert sub.paused_at is not None and sub.status == "active"
    assert gateway.client.v1.subscriptions.retrieve(sub.gateway_id).cancel_at_period_end
    again = press(client, sub, "pause")
    assert "This gift is already paused." in client.get(again.headers["Location"]).text
    assert len(audits(db, "pause")) == 1

    done = press(client, sub, "resume")
    assert "Your gift is running again." in client.get(done.headers["Location"]).text
    resumed = the_subscription(db)
    assert resumed.paused_at is None and resumed.gateway_id == sub.gateway_id
    live = gateway.client.v1.subscriptions.retrieve(sub.gateway_id)
    assert live.status == "active" and not live.cancel_at_period_end
    again = press(client, sub, "resume")
    assert "This gift is already running." in client.get(again.headers["Location"]).text
    assert len(audits(db, "resume")) == 1
    # nothing was charged by pausing and resuming
    assert api(client)["raised_minor"] == 2500


def test_resume_after_the_paid_period_ran_out_starts_again_and_counts_the_payment(
        monthly, client, db, gateway, app):
    old_id, customer_id = monthly.gateway_id, monthly.customer_id
    press(client, monthly, "pause")
    # The period ends: Stripe ends the subscription (cancel at period end).
    gone = gateway.client.v1.subscriptions.cancel(old_id).to_dict()
    answer = post_event(client, app, "customer.subscription.deleted", gone)
    assert answer.get_json()["outcome"] == "paused"
    sub = the_subscription(db)
    assert sub.status == "active" and sub.paused_at is not None
    assert "Paused" in client.get("/my-gifts").text

    done = press(client, sub, "resume")
    assert "Your gift is running again." in client.get(done.headers["Location"]).text
    resumed = the_subscription(db)
    assert resumed.paused_at is None and resumed.gateway_id != old_id
    live = gateway.client.v1.subscriptions.retrieve(resumed.gateway_id)
    assert live.status == "active" and live.customer == customer_id
    # Charged at once, and counted like any instalment (its webhook finds it done).
    assert api(client)["raised_minor"] == 5000
    invoice = gateway.client.v1.invoices.retrieve(live.latest_invoice).to_dict()
    assert post_event(client, app, "invoice.payment_succeeded", invoice).get_json()[
        "outcome"] == "repeat"
    assert api(client)["raised_minor"] == 5000
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Donation).where(
        Donation.subscription_id == resumed.id)) == 2


def test_a_cancelled_gift_has_no_controls_and_refuses_them(monthly, client, db):
    press(client, monthly, "cancel")
    page = client.get("/my-gifts").text
    assert ">Pause<" not in page and "Change amount" not in page
    answer = press(client, monthly, "pause")
    assert "This gift is not running" in client.get(answer.headers["Location"]).text
    answer = change(client, monthly, "40")
    assert "This gift is not running" in client.get(answer.headers["Location"]).text
    sub = the_subscription(db)
    assert (sub.status, sub.amount_minor, sub.paused_at) == ("canceled", 2500, None)
    assert len(audits(db, "cancel")) == 1


# -- another card -------------------------------------------------------------------------

def test_the_donor_saves_another_card_and_the_next_invoice_uses_it(
        monthly, client, db, gateway, donor):
    page = client.get(f"/my-gifts/monthly/{monthly.public_id}/card")
    assert page.status_code == 200
    assert "Use another card" in page.text and "Nothing is charged now." in page.text
    assert "For your monthly gift of $25.00" in page.text
    secret = re.search(r'data-client-secret="([^"]+)"', page.text).group(1)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    setup = confirm_card_setup(donor.localstripe, secret, MASTERCARD)
    assert setup["status"] == "succeeded"
    url = f"/my-gifts/monthly/{monthly.public_id}/card"
    answer = client.post(url, json={}, headers={"X-CSRFToken": token})
    assert answer.status_code == 200 and answer.get_json()["status"] == "saved"
    page = client.get("/my-gifts").text
    assert "Your card ending 4444 will pay this gift from the next payment on." in page
    customer = gateway.client.v1.customers.retrieve(monthly.customer_id).to_dict()
    assert customer["invoice_settings"]["default_payment_method"] == setup["payment_method"]
    invoice = renew(gateway, monthly)
    assert invoice["status"] == "paid"
    charge = gateway.client.v1.charges.retrieve(invoice["charge"]).to_dict() \
        if isinstance(invoice["charge"], str) else invoice["charge"]
    assert charge["payment_method"] == setup["payment_method"]
    # Said again (a double click): saved, logged once.
    again = client.post(url, json={}, headers={"X-CSRFToken": token})
    assert again.get_json()["status"] == "saved"
    [line] = audits(db, "card")
    assert '"last4": "4444"' in line.details
    # the next instalments' receipts name the new card (localstripe's brand code "visa")
    db.session.rollback()
    assert (db.session.get(Subscription, monthly.id).card_brand,
            db.session.get(Subscription, monthly.id).card_last4) == ("Visa", "4444")


def test_a_declined_card_is_not_saved(monthly, client, db, gateway, donor):
    page = client.get(f"/my-gifts/monthly/{monthly.public_id}/card").text
    secret = re.search(r'data-client-secret="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    with pytest.raises(requests.HTTPError):
        confirm_card_setup(donor.localstripe, secret, DECLINED)
    answer = client.post(f"/my-gifts/monthly/{monthly.public_id}/card", json={},
                         headers={"X-CSRFToken": token})
    assert answer.status_code == 402
    assert "Your card was not saved" in answer.get_json()["message"]
    customer = gateway.client.v1.customers.retrieve(monthly.customer_id).to_dict()
    assert not (customer.get("invoice_settings") or {}).get("default_payment_method")
    assert audits(db, "card") == []


def test_confirming_a_card_without_opening_the_card_page_is_refused(monthly, client, db):
    answer = client.post(f"/my-gifts/monthly/{monthly.public_id}/card", json={},
                         headers={"X-CSRFToken": page_token(client)})
    assert answer.status_code == 409 and "open the card page again" in \
        answer.get_json()["message"]


# -- yearly gifts -------------------------------------------------------------------------

def test_the_gift_form_offers_yearly_and_nothing_recurring_is_preselected(client, appeal):
    page = client.get("/appeals/test-appeal").text
    for value in ("monthly", "yearly"):
        tag = re.search(rf'<input[^>]*value="{value}"[^>]*>', page).group(0)
        assert "checked" not in tag
    assert "Yearly" in page


def test_a_yearly_gift_is_a_yearly_plan_at_stripe_and_says_a_year(
        donor, appeal, client, db, gateway, app):
    matching.create_pool(db.session, appeal_id=appeal.id, currency="USD", cap_minor=100_000,
                         sponsor_name="Ruth", monthly_rule=MONTHLY_X12)
    db.session.commit()
    gift = donor.start(amount="120", frequency="yearly")
    page = client.get(f"/give/{gift}").text
    assert "Yearly gift:" in page and "now and again on" in page
    assert "every year until you cancel" in page and "Give $120.00 yearly" in page
    answer = donor.charge(gift, support.card_token(donor.localstripe, VISA)).get_json()
    assert answer["status"] == "succeeded"
    assert "This is the first of your yearly gifts of $120.00" in client.get(answer["next"]).text
    sub = the_subscription(db)
    assert (sub.interval, sub.status, sub.amount_minor) == ("year", "active", 12000)
    plan = plan_of(gateway, sub)
    assert (plan["interval"], plan["amount"]) == ("year", 12000)
    # A yearly gift is a year of giving already: the ×12 rule is for monthly gifts.
    body = api(client)
    assert (body["raised_minor"], body["matched_minor"]) == (12000, 12000)
    sign_in(client, app)
    portal = client.get("/my-gifts").text
    assert "$120.00 a year" in portal and "Cancel this yearly gift" in portal
    assert "From $1 to $100,000 a year" in portal
    done = change(client, sub, "150")
    assert "Your yearly gift is now $150.00 a year" in \
        client.get(done.headers["Location"]).text
    assert plan_of(gateway, sub)["interval"] == "year"


def test_staff_see_a_year_and_filter_yearly_gifts(donor, appeal, client, db, app):
    from fundraiser.staff import reports
    from fundraiser.staff import services as staff
    from tests.functional.staff.conftest import PASSWORD, StaffClient

    gift = donor.start(amount="60", frequency="yearly", email="fay@example.org")
    donor.charge(gift, support.card_token(donor.localstripe, VISA))
    start_monthly(donor, client, amount="5", email="mo@example.org")
    user, _ = staff.create_staff(db.session, "viewer@example.org", "viewer")
    staff.set_password(db.session, user, PASSWORD)
    db.session.commit()
    viewer = StaffClient(app, "viewer@example.org")
    viewer.login()
    page = viewer.get("/staff/donors/gifts?email=fay@example.org").text
    assert "$60.00 a year" in page

    def emails(**args):
        query = reports.filtered_donations(db.session, reports.parse_filters(args))
        return sorted(d.email for d in db.session.scalars(query))

    assert emails(frequency="yearly") == ["fay@example.org"]
    assert emails(frequency="monthly") == ["mo@example.org"]
    assert 'value="yearly"' in viewer.get("/staff/donations").text


# -- the staff dashboard ------------------------------------------------------------------

def test_the_dashboard_shows_recurring_revenue_donors_and_cancellations(
        donor, appeal, client, db, app):
    from fundraiser.staff import services as staff
    from tests.functional.staff.conftest import PASSWORD, StaffClient

    start_monthly(donor, client, amount="25", email="dana@example.org")
    start_monthly(donor, client, amount="10", email="erin@example.org")
    start_monthly(donor, client, amount="7", email="gil@example.org")
    gift = donor.start(amount="130", frequency="yearly", email="fay@example.org")
    donor.charge(gift, support.card_token(donor.localstripe, VISA))
    # erin cancels, gil pauses: neither counts in what comes in a month
    sign_in(client, app, "erin@example.org")
    erin = db.session.scalar(select(Subscription).where(
        Subscription.email == "erin@example.org"))
    press(client, erin, "cancel")
    sign_in(client, app, "gil@example.org")
    gil = db.session.scalar(select(Subscription).where(Subscription.email == "gil@example.org"))
    press(client, gil, "pause")
    user, _ = staff.create_staff(db.session, "viewer@example.org", "viewer")
    staff.set_password(db.session, user, PASSWORD)
    db.session.commit()
    viewer = StaffClient(app, "viewer@example.org")
    viewer.login()
    page = viewer.get("/staff/").text
    section = page[page.index('id="recurring"'):]
    figures = dict(re.findall(r'data-figure="([a-z-]+)">([^<]+)<', section))
    # $25.00 a month + $130.00 a year / 12 ($10.83, rounded half up) = $35.83
    assert figures["recurring-month"] == "$35.83"
    assert figures["monthly-donors"] == "1"
    assert figures["yearly-donors"] == "1"
    assert figures["canceled-month"] == "1"
    hebrew = viewer.get("/staff/?lang=he").text
    assert "35.83" in hebrew[hebrew.index('id="recurring"'):]
    # The figures the page polls for carry them too, so they change without a reload.
    assert viewer.get("/staff/api/recent").get_json()["recurring"] == [
        {"currency": "USD", "recurring-month": "$35.83", "monthly-donors": 1,
         "yearly-donors": 1, "canceled-month": 1}]


def test_a_failed_yearly_instalment_is_mailed_as_yearly(donor, appeal, client, db, app):
    gift = donor.start(amount="80", frequency="yearly")
    donor.charge(gift, support.card_token(donor.localstripe, VISA))
    sub = the_subscription(db)
    outbox = app.extensions["mailman"].outbox
    before = len(outbox)
    failed = {"id": "in_failed_y", "object": "invoice", "subscription": sub.gateway_id,
              "customer": sub.customer_id, "amount_paid": 0, "amount_due": 8000,
              "currency": "usd", "payment_intent": "pi_failed_y", "status": "open"}
    assert post_event(client, app, "invoice.payment_failed", failed).get_json()[
        "outcome"] == "applied"
    [mail] = outbox[before:]
    assert mail.subject == "Your yearly gift to Test appeal did not go through"
    assert "This year's instalment of your yearly gift of $80.00" in mail.body


def test_resuming_with_a_card_that_declines_leaves_the_gift_paused(
        monthly, client, db, gateway, app, donor):
    old_id = monthly.gateway_id
    press(client, monthly, "pause")
    gone = gateway.client.v1.subscriptions.cancel(old_id).to_dict()
    post_event(client, app, "customer.subscription.deleted", gone)
    # another card, which saves fine and declines when charged
    page = client.get(f"/my-gifts/monthly/{monthly.public_id}/card").text
    secret = re.search(r'data-client-secret="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    confirm_card_setup(donor.localstripe, secret, "4000000000000341")
    assert client.post(f"/my-gifts/monthly/{monthly.public_id}/card", json={},
                       headers={"X-CSRFToken": token}).get_json()["status"] == "saved"
    done = press(client, monthly, "resume")
    assert "Your card was not accepted, so your gift is still paused." in \
        client.get(done.headers["Location"]).text
    sub = the_subscription(db)
    assert sub.paused_at is not None and sub.gateway_id == old_id
    assert audits(db, "resume") == []
    assert api(client)["raised_minor"] == 2500
    # nothing left running at Stripe for this customer
    running = gateway.client.v1.subscriptions.list(params={"customer": sub.customer_id})
    assert [s.status for s in running.data if s.status not in ("canceled",)] == []


def test_two_resumes_at_once_across_a_minute_boundary_start_one_subscription(
        monthly, client, db, gateway, app, monkeypatch):
    from datetime import timedelta
    from itertools import count

    from fundraiser.donors import recurring
    from fundraiser.payments.models import utcnow
    from tests.support import in_threads

    old_id, customer_id = monthly.gateway_id, monthly.customer_id
    press(client, monthly, "pause")
    gone = gateway.client.v1.subscriptions.cancel(old_id).to_dict()
    post_event(client, app, "customer.subscription.deleted", gone)
    sub_id = the_subscription(db).id
    # every call of the clock is a minute later: the two clicks' idempotency
    # keys differ, as they would either side of a minute boundary
    start, minutes = utcnow(), count()
    monkeypatch.setattr(recurring, "utcnow", lambda: start + timedelta(minutes=next(minutes)))
    outcomes = []

    def resume(_n):
        sub = db.session.get(Subscription, sub_id)
        outcomes.append(recurring.resume(db.session, gateway, sub))

    assert in_threads(app, db, resume, [0, 1]) == []
    assert sorted(outcomes) == sorted([recurring.CHANGED, recurring.SAME])
    running = [s for s in gateway.client.v1.subscriptions.list(
        params={"customer": customer_id}).data if s.status == "active"]
    assert len(running) == 1
    assert api(client)["raised_minor"] == 5000          # charged once, not twice
