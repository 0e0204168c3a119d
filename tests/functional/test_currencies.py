"""The gift form in the donor's currency (issue 19), through the test client:
the currency picker, its amounts, refusals, and the appeal page's second
currency."""

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fundraiser.appeals import services as appeals
from fundraiser.appeals.models import Appeal
from fundraiser.donations import services as donations
from fundraiser.donations.models import Donation
from fundraiser.money import Money
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.models import Payment
from fundraiser.rates import services as rates
from tests import support
from tests.conftest import app_with
from tests.factories import create_appeal

ECB_CSV = (Path(__file__).parent.parent / "fixtures" / "eurofxref.csv").read_bytes()


def shekel_appeal(db, with_rates=True, second="ILS"):
    if with_rates:
        rates.import_ecb(db.session, ECB_CSV)
    appeal = create_appeal(db.session, suggested=[18, 36, 100])
    appeals.set_currencies(db.session, appeal, [
        ("ILS", [Money.from_major(x, "ILS") for x in (50, 100, 180)])], second_currency=second)
    db.session.commit()
    return appeal



def post_gift(client, **fields):
    page = client.get("/appeals/test-appeal")
    data = {"csrf_token": support.form_token(client, page), "amount": "other",
            "other_amount": "100",
            "currency": "ILS", "frequency": "once", "name": "Dana Donor",
            "email": "dana@example.org", **fields}
    return client.post("/appeals/test-appeal/give", data=data)


def count(db, model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_donor_chooses_shekels_and_sees_shekel_amounts(db, client):
    shekel_appeal(db)
    page = client.get("/appeals/test-appeal").data.decode()
    assert '<select id="give-currency" name="currency">' in page
    assert "US Dollar ($)" in page and "Israeli New Shekel (₪)" in page
    assert "$36" in page and "₪100" not in page          # English page: dollars first
    page = client.get("/appeals/test-appeal?currency=ILS").data.decode()
    assert "₪50" in page and "₪100" in page and "₪180" in page and "$36" not in page
    assert 'name="currency" value="ILS"' in page
    assert "Choose an amount (ILS)" in page


def test_a_hebrew_page_offers_shekels_first_when_the_appeal_takes_them(db, client):
    shekel_appeal(db)
    page = client.get("/appeals/test-appeal", headers={"Accept-Language": "he"}).data.decode()
    assert 'name="currency" value="ILS"' in page
    assert "₪" in page and "180" in page


def test_a_shekel_gift_is_stored_with_its_currency_and_quoted_rate(db, client):
    shekel_appeal(db)
    response = post_gift(client, other_amount="180")
    assert response.status_code == 303, response.data[:3000]
    db.session.rollback()
    d = db.session.scalar(select(Donation))
    assert (d.amount_minor, d.currency, d.converted_minor) == (18_000, "ILS", 5_534)
    assert (d.payment.amount_minor, d.payment.currency) == (18_000, "ILS")
    payments.transition_to(db.session, d.payment_id, states.SUCCEEDED)
    db.session.commit()
    body = client.get("/api/v1/appeals/test-appeal").get_json()
    assert (body["currency"], body["raised_minor"], body["total_minor"]) == ("USD", 5_534, 5_534)
    assert body["accepted_currencies"] == ["USD", "ILS"]
    # $55.34 → ₪180 back at today's rate, three significant figures
    assert body["second_currency"] == {"currency": "ILS", "about_minor": 18_000}


def test_a_currency_the_appeal_does_not_take_is_refused_beside_the_field(db, client):
    shekel_appeal(db)
    response = post_gift(client, currency="EUR")
    assert response.status_code == 422
    assert "This appeal does not take gifts in that currency." in response.data.decode()
    assert 'href="#give-currency"' in response.data.decode()
    assert count(db, Payment) == 0 and count(db, Donation) == 0
    for hostile in ("ils<script>", "X" * 500, "usd\x00", "𝔘𝔖𝔇"):
        response = post_gift(client, currency=hostile)
        assert response.status_code == 422, hostile
        assert "<script>" not in response.data.decode().split("</header>")[-1] \
            or "ils&lt;script&gt;" in response.data.decode()
    assert count(db, Payment) == 0


def test_a_currency_without_a_rate_cannot_be_chosen(db, client):
    shekel_appeal(db, with_rates=False, second=None)
    page = client.get("/appeals/test-appeal?currency=ILS").data.decode()
    assert '<option value="ILS" disabled>' in page
    assert "not available just now" in page
    assert 'name="currency" value="USD"' in page          # the form stays in dollars
    response = post_gift(client)
    assert response.status_code == 422
    assert "Gifts in ILS cannot be taken just now: we have no exchange rate for it." \
        in response.data.decode()
    assert count(db, Payment) == 0
    assert post_gift(client, currency="USD").status_code == 303   # dollars still work


@pytest.mark.parametrize("frequency", ["monthly", "yearly"])
def test_a_recurring_gift_must_be_in_the_appeals_currency(db, client, frequency):
    shekel_appeal(db)
    response = post_gift(client, frequency=frequency)
    assert response.status_code == 422
    assert "Monthly and yearly gifts are taken in USD only." in response.data.decode()
    assert count(db, Payment) == 0


def test_shekel_amounts_are_bounded_in_shekels(db, client, app):
    shekel_appeal(db)
    top = app.config["DONATION_MAX_MAJOR"]
    response = post_gift(client, other_amount=str(top + 1))
    assert response.status_code == 422
    assert "The largest gift we can take online is ₪" in response.data.decode()
    response = post_gift(client, other_amount="1.234")
    assert "at most 2 decimal places" in response.data.decode()
    assert count(db, Payment) == 0


def test_the_appeal_page_shows_the_total_in_the_second_currency(db, client):
    appeal = shekel_appeal(db, second="ILS")
    d = appeal and post_gift(client, currency="USD", other_amount="12400")
    assert d.status_code == 303
    db.session.rollback()
    payments.transition_to(db.session, db.session.scalar(select(Donation)).payment_id,
                           states.SUCCEEDED)
    db.session.commit()
    client.application.extensions["fundraiser.public_cache"].clear()
    page = client.get("/appeals/test-appeal").data.decode()
    # $12,400 × 3.7865 / 1.1642 = ₪40,330.… → about ₪40,300
    assert "$12,400" in page and "about ₪40,300 at today's exchange rate" in page
    he = client.get("/appeals/test-appeal", headers={"Accept-Language": "he"}).data.decode()
    assert "40,300" in he


def give_dollars(db, appeal, minor, email):
    d = donations.start_donation(db.session, appeal, amount=Money(minor, "USD"),
                                 name="Dana Donor", email=email)
    db.session.commit()
    payments.transition_to(db.session, d.payment_id, states.SUCCEEDED)
    db.session.commit()


def test_the_appeal_page_gives_its_poller_the_second_currency_line_to_update(db, client):
    shekel_appeal(db, second="ILS")
    page = client.get("/appeals/test-appeal").data.decode()
    assert 'data-api-url="/api/v1/appeals/test-appeal"' in page
    assert "/static/js/progress.js" in page
    # Nothing raised yet: no "about ₪0", but the line is there, hidden, for
    # the poll to fill in once the total moves (in the page's language).
    line = re.search(r'<p class="goal-about" data-field="about" data-template="([^"]*)"'
                     r' hidden></p>', page)
    assert line and line.group(1) == "about {amount} at today&#39;s exchange rate"
    he = client.get("/appeals/test-appeal", headers={"Accept-Language": "he"}).data.decode()
    template = re.search(r'data-field="about" data-template="([^"]*)"', he).group(1)
    assert "{amount}" in template and "about" not in template
    # No second currency: no line to update.
    appeals.set_currencies(db.session, db.session.scalar(select(Appeal)), [], None)
    db.session.commit()
    assert 'data-field="about"' not in client.get("/appeals/test-appeal").data.decode()


def test_the_polled_json_carries_the_second_currency_as_the_total_moves(database_url):
    # An hour-long public cache, as production runs: the JSON a page polls
    # must not keep an old "about" beside a new total.
    with app_with(database_url, PUBLIC_CACHE_SECONDS=3600) as app:
        from fundraiser.extensions import db

        appeal = shekel_appeal(db, second="ILS")
        poller = app.test_client()
        before = poller.get("/api/v1/appeals/test-appeal")
        assert before.get_json()["second_currency"] is None      # nothing raised yet
        give_dollars(db, appeal, 1_240_000, "dana@example.org")  # $12,400
        body = poller.get("/api/v1/appeals/test-appeal",
                          headers={"If-None-Match": before.headers["ETag"]}).get_json()
        assert body["total_minor"] == 1_240_000
        # $12,400 × 3.7865 / 1.1642 = ₪40,330.… → about ₪40,300
        assert body["second_currency"] == {"currency": "ILS", "about_minor": 4_030_000}
        give_dollars(db, appeal, 100_000, "eli@example.org")     # $1,000 more
        body = poller.get("/api/v1/appeals/test-appeal").get_json()
        assert body["total_minor"] == 1_340_000
        assert body["second_currency"] == {"currency": "ILS", "about_minor": 4_360_000}
        page = poller.get("/appeals/test-appeal").data.decode()
        assert "about ₪43,600 at today's exchange rate" in page
