"""Bounds on every stored number, only known currencies, and voiding an
offline gift (issue 15). Before: an offline gift of 92233720368547758.07 was
stored, and then the appeal page, the API and the staff pages answered 500."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from fundraiser.donations import services as donations
from fundraiser.limits import LimitError, Limits
from fundraiser.money import Money
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.models import Payment
from fundraiser.staff import offline_services
from tests.factories import create_appeal, create_donation

HUGE = "92233720368547758.07"


@pytest.fixture
def appeal(db):
    appeal = create_appeal(db.session)
    db.session.commit()
    return appeal


def offline(finance, appeal, amount="120", **fields):
    return finance.post("/staff/gifts/new", {
        "appeal": appeal.id, "amount": amount, "name": "Ruth Cohen",
        "email": "ruth@example.org", "method": "cheque", "received_on": "2026-11-20",
        **fields})


def count(db, model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


# -- bounds ------------------------------------------------------------------------

def test_a_huge_offline_gift_is_refused_and_every_page_still_answers(
        db, appeal, staff_client, client):
    finance = staff_client("finance")
    answer = offline(finance, appeal, HUGE)
    assert answer.status_code == 422
    assert "at most $10,000,000.00" in answer.data.decode()
    assert count(db, Payment) == 0
    # The largest amount is taken, and the pages that add it up still work.
    assert offline(finance, appeal, "10,000,000").status_code == 303
    assert client.get(f"/appeals/{appeal.slug}").status_code == 200
    assert client.get(f"/api/v1/appeals/{appeal.slug}").get_json()["raised_minor"] == 10**9
    for url in ("/staff/", "/staff/donations", "/staff/donors", "/staff/donations.csv"):
        assert finance.get(url).status_code == 200, url


def test_the_services_refuse_what_the_forms_refuse(db, appeal):
    huge = Money(9223372036854775807, "USD")
    with pytest.raises(LimitError):
        offline_services.record_offline_gift(db.session, appeal=appeal, amount=huge, name="X",
                                     email="x@example.org", method="cash",
                                     received_on=appeal.created_at.date(), actor=None)
    with pytest.raises(LimitError):
        donations.start_donation(db.session, appeal, amount=huge, name="X",
                                 email="x@example.org")
    gift = create_donation(db.session, appeal)
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    with pytest.raises(LimitError):
        donations.start_pledge(db.session, gift, huge, "Dana")
    with pytest.raises(LimitError):
        donations.start_card_pledge(db.session, gift, huge, "Dana")
    # A smaller ceiling from config is the one the services apply.
    small = Limits(max_amount_major=100)
    with pytest.raises(LimitError):
        donations.start_donation(db.session, appeal, amount=Money(10_001, "USD"), name="X",
                                 email="x@example.org", limits=small)
    db.session.rollback()
    assert count(db, Payment) == 0


def test_the_online_limit_never_exceeds_the_ceiling(donor, db, app, appeal):
    app.extensions["fundraiser.limits"] = Limits(max_amount_major=50)
    answer = donor.fill_form(appeal.slug, amount="other", other_amount="60")
    assert answer.status_code == 422
    assert "The largest gift we can take online is $50.00" in answer.data.decode()


# -- text -------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["name", "note"])
def test_an_offline_gift_refuses_control_characters(db, appeal, staff_client, field):
    answer = offline(staff_client("finance"), appeal, **{field: "Ruth\u202e\x1b"})
    assert answer.status_code == 422
    assert "characters that cannot be shown" in answer.data.decode()
    assert count(db, Payment) == 0


# (a comment that opens with a tab or CR is refused at the form, so only the
# signs reach the export; _csv_safe defuses tab and CR too)
@pytest.mark.parametrize("first", ["\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe66",
                                   "=", "+", "-", "@"])
def test_csv_cells_opening_with_any_formula_sign_are_defused(db, appeal, staff_client, first):
    gift = create_donation(db.session, appeal, name="Dana Donor",
                           comment=first + "HYPERLINK(\"http://x\")")
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    rows = list(csv.DictReader(io.StringIO(
        staff_client("finance").get("/staff/donations.csv").get_data(as_text=True))))
    assert rows[0]["comment"] == "'" + first + "HYPERLINK(\"http://x\")"


@pytest.mark.parametrize("target", ["/staff/donations\r\nSet-Cookie: a=b", "/staff/\n",
                                    "/staff/%0d%0a"])
def test_a_line_break_in_the_login_next_is_ignored(db, make_staff, app, target):
    from tests.functional.staff.conftest import PASSWORD, StaffClient

    user = make_staff("viewer")
    browser = StaffClient(app, user.email)
    answer = browser.post("/staff/login?" + "next=" + target.replace("\r", "%0d")
                          .replace("\n", "%0a"), {"email": user.email,
                                                  "password": PASSWORD})
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/staff/", "/staff/%0d%0a")




# -- voiding an offline gift ---------------------------------------------------------

def raised(client, appeal):
    return client.get(f"/api/v1/appeals/{appeal.slug}").get_json()["raised_minor"]


def test_a_voided_offline_gift_stops_counting_and_says_who_and_why(
        db, appeal, staff_client, client):
    finance = staff_client("finance")
    assert offline(finance, appeal, "120").status_code == 303
    assert offline(finance, appeal, "30").status_code == 303
    assert raised(client, appeal) == 15000
    gift_id = db.session.scalar(select(func.min(Payment.id)))
    from fundraiser.donations.models import Donation
    donation_id = db.session.scalar(select(Donation.id).where(Donation.payment_id == gift_id))

    page = finance.get(f"/staff/donations/{donation_id}").get_data(as_text=True)
    assert "Void this gift" in page

    # No reason: refused beside the field, nothing changes.
    answer = finance.post(f"/staff/donations/{donation_id}/void", {"reason": "  "})
    assert answer.status_code == 422
    assert "Say why this gift is void." in answer.get_data(as_text=True)
    assert raised(client, appeal) == 15000

    answer = finance.post(f"/staff/donations/{donation_id}/void",
                          {"reason": "Cheque 1042 bounced"}, follow_redirects=True)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "Voided $120.00 from Ruth Cohen" in page
    assert "Cheque 1042 bounced" in page and finance.email in page
    assert "Void this gift" not in page  # no second button
    assert '<span class="status status-refunded" data-field="status">Voided</span>' in page
    assert raised(client, appeal) == 3000
    rows = list(csv.DictReader(io.StringIO(
        finance.get("/staff/donations.csv").get_data(as_text=True))))
    assert sorted(row["refunded"] for row in rows) == ["0.00", "120.00"]
    audit = staff_client("admin", "admin2@example.org").get("/staff/audit").get_data(
        as_text=True)
    assert "gift.offline_voided" in audit and "Cheque 1042 bounced" in audit

    # Voiding it again changes nothing and says why.
    again = finance.post(f"/staff/donations/{donation_id}/void", {"reason": "twice"})
    assert again.status_code == 422
    assert raised(client, appeal) == 3000


def test_only_an_offline_gift_can_be_voided(db, appeal, staff_client, client):
    gift = create_donation(db.session, appeal)
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    before = raised(client, appeal)
    answer = staff_client("finance").post(f"/staff/donations/{gift.id}/void",
                                          {"reason": "wrong"})
    assert answer.status_code == 422
    assert "Only an offline gift can be voided" in answer.get_data(as_text=True)
    assert raised(client, appeal) == before


@pytest.mark.parametrize("reason", ["x" * 501, "bounced\u202e", "bounced\x00"])
def test_a_void_reason_that_cannot_be_kept_is_refused(db, appeal, staff_client, client, reason):
    finance = staff_client("finance")
    assert offline(finance, appeal, "40").status_code == 303
    from fundraiser.donations.models import Donation
    donation_id = db.session.scalar(select(func.max(Donation.id)))
    answer = finance.post(f"/staff/donations/{donation_id}/void", {"reason": reason})
    assert answer.status_code in (400, 422)
    assert raised(client, appeal) == 4000


def test_a_pool_cap_or_minimum_past_the_ceiling_is_refused(db, appeal, staff_client):
    editor = staff_client("editor")
    url = f"/staff/appeals/{appeal.id}/pools"
    answer = editor.post(url, {"sponsor": "Matcher", "ratio": "1:1", "cap": "10000000.01"})
    assert answer.status_code == 422
    assert "at most $10,000,000.00" in answer.get_data(as_text=True)
    answer = editor.post(url, {"sponsor": "Matcher", "ratio": "1:1", "cap": "100",
                               "min_gift": "10000001"})
    assert answer.status_code == 422
    from fundraiser.matching.models import MatchPool
    assert count(db, MatchPool) == 0
    assert editor.post(url, {"sponsor": "Matcher", "ratio": "1:1",
                             "cap": "10000000"}).status_code == 303
