"""Hostile and foreign input on the public side (issue 15): amounts read in
the page's locale, no control characters in what the public sees, and no
line break in a redirect's `next`."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from fundraiser.donations.models import Donation
from fundraiser.matching.models import MatchPledge
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.models import Payment
from tests.factories import create_appeal, create_donation


def _count(db, model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def _text(response) -> str:
    return html.unescape(response.data.decode())


# -- amounts ---------------------------------------------------------------------

def test_a_german_style_amount_is_charged_as_typed_not_a_hundred_times(donor, appeal, db):
    # Before: "5,00" lost its comma and became $500.00.
    donor.start(amount="other", other_amount="5,00")
    assert db.session.scalar(select(Donation.amount_minor)) == 500


def test_a_hebrew_page_reads_amounts_the_same_way(donor, appeal, db, client):
    client.set_cookie("lang", "he")
    donor.start(amount="other", other_amount="1,234.50")
    assert db.session.scalar(select(Donation.amount_minor)) == 123450


def test_an_ambiguous_amount_is_refused_with_a_message_not_guessed(donor, db):
    create_appeal(db.session, slug="dinars", currency="KWD")
    db.session.commit()
    # 1,234 dinars, or 1.234 (the German way)? KWD has three decimals.
    answer = donor.fill_form("dinars", amount="other", other_amount="1,234", currency="KWD")
    assert answer.status_code == 422
    assert "could be read in two ways" in _text(answer)
    assert "like 1234 or 25.500" in _text(answer)
    assert _count(db, Payment) == 0


def test_a_preset_amount_is_taken_as_the_page_wrote_it(donor, db):
    create_appeal(db.session, slug="dinars", currency="KWD", suggested=[10, 25, 50])
    db.session.commit()
    donor.start("dinars", amount="25.000", currency="KWD")
    assert db.session.scalar(select(Donation.amount_minor)) == 25000


def test_the_match_preview_reads_the_amount_in_the_pages_locale(client, appeal):
    assert client.get("/appeals/test-appeal/match-preview?amount=5,00").status_code == 200
    assert client.get("/appeals/test-appeal/match-preview?amount=%C2%B2").status_code == 400


# -- control characters in what the public sees ----------------------------------------

HOSTILE = [("name", "Dana\u202eyeknoM"), ("name", "Dana\x00"), ("display_name", "D\x1b[31m"),
           ("comment", "Good luck\u202e!"), ("comment", "bell\x07"), ("display_name", "a\nb")]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_the_gift_form_refuses_control_characters(donor, appeal, db, field, value):
    answer = donor.fill_form("test-appeal", **{field: value})
    assert answer.status_code == 422
    assert "characters that cannot be shown" in _text(answer)
    assert _count(db, Donation) == 0


def test_a_comment_keeps_its_line_breaks(donor, appeal, db):
    donor.start(comment="Thank you.\r\nKeep going!")
    assert db.session.scalar(select(Donation.comment)) == "Thank you.\r\nKeep going!"


def test_a_share_code_with_control_characters_is_cleaned_not_stored(donor, appeal, db):
    donor.start(source="abc\x1bdef\u202e")
    assert db.session.scalar(select(Donation.source)) == "abcdef"


@pytest.mark.parametrize("name", ["Dana\u202e", "Dana\x00", "Dana\x1b"])
def test_the_pledge_form_refuses_control_characters(client, appeal, db, name):
    gift = create_donation(db.session, appeal)
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    thanks = client.get(f"/give/{gift.public_id}/thanks")
    token = re.search(rb'name="csrf-token" content="([^"]+)"', thanks.data).group(1).decode()
    answer = client.post(f"/give/{gift.public_id}/pledge", data={
        "csrf_token": token, "amount": "50", "display_name": name, "mode": "pay_now",
        "agree": "y"})
    assert answer.status_code == 422
    assert "characters that cannot be shown" in _text(answer)
    assert _count(db, MatchPledge) == 0


def test_start_donation_refuses_control_characters_without_the_form(appeal, db):
    from fundraiser.donations.services import DonorTextError

    with pytest.raises(DonorTextError):
        create_donation(db.session, appeal, name="Dana\u202e")
    db.session.rollback()
    assert _count(db, Donation) == 0


# -- redirects ---------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/appeals\r\nSet-Cookie: x=1", "/\n", "/%0d%0a",
                                    "//evil.example", "https://evil.example/", "/\\evil"])
def test_the_language_switch_never_answers_500_or_leaves_the_site(client, target):
    answer = client.get("/lang/he", query_string={"next": target})
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert "\n" not in location and "\r" not in location
    assert "evil" not in location


def test_a_body_larger_than_the_request_limit_is_refused_with_a_page_and_stores_nothing(
        client, appeal, db):
    """Flask's MAX_CONTENT_LENGTH defaults to None; the app sets 4 MB, so a
    huge body is refused before any form reads it (not spooled to disk)."""
    assert client.application.config["MAX_CONTENT_LENGTH"] == 4 * 1024 * 1024
    huge = {"name": "x" * (5 * 1024 * 1024), "amount": "25"}
    response = client.post("/appeals/test-appeal/give", data=huge)
    assert response.status_code == 413
    assert "That was too much to send at once" in response.text
    assert db.session.scalar(select(func.count()).select_from(Donation)) == 0
    as_json = client.post("/api/v1/appeals", data=b"{" + b" " * (5 * 1024 * 1024),
                          content_type="application/json")
    assert as_json.status_code in (405, 413)
