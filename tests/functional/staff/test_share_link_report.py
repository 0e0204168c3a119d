"""Share links for staff and for co-signers (issue 19): the staff page and
its CSV show, per link, visits, signatures, gifts, money net of refunds and
conversion; each co-signer's private page shows its own figures only, and a
wrong token finds nothing."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from fundraiser.appeals import signatures
from fundraiser.appeals.models import Cosigner, Signature
from fundraiser.donations.models import Donation
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.referrals import services as referrals
from fundraiser.referrals.models import ReferralLink
from tests import support
from tests.factories import create_appeal, create_donation
from tests.functional.test_share_links import give, sign_and_confirm

DAY = date(2026, 12, 1)


@pytest.fixture
def coalition(db):
    appeal = create_appeal(db.session, slug="test-appeal", signatures=(True, None))
    appeal.cosigners.append(Cosigner(name="=Valley Friends", position=0))
    appeal.cosigners.append(Cosigner(name="River Trust", position=1))
    db.session.commit()
    valley, river = (referrals.cosigner_link(db.session, appeal.id, c.id)
                     for c in appeal.cosigners)
    # Valley: three visitors, one confirmed signature (one not yet), two gifts
    # that went through ($25, and $40 of which $15 was refunded), one failed.
    for who in ("a", "b", "c"):
        referrals.record_visit(db.session, valley, DAY,
                               who * 64)
    signed = signatures.sign(db.session, appeal, name="Noa", email="noa@example.org",
                             referral_link_id=valley.id)
    signatures.confirm(db.session, signed.token)
    signatures.sign(db.session, appeal, name="Unconfirmed", email="u@example.org",
                    referral_link_id=valley.id)
    for amount, refund, status in ((2500, 0, states.SUCCEEDED), (4000, 1500, states.SUCCEEDED),
                                   (9900, 0, states.FAILED)):
        gift = create_donation(db.session, appeal, amount_minor=amount,
                               referral_link_id=valley.id)
        payments.transition_to(db.session, gift.payment_id, status)
        if refund:
            gift.payment.refunded_minor = refund
            payments.transition_to(db.session, gift.payment_id, states.PARTIALLY_REFUNDED)
    # River: one visit, nothing else.
    referrals.record_visit(db.session, river, DAY,
                           "d" * 64)
    db.session.commit()
    return appeal, valley, river


def _row(page: str, code: str) -> dict:
    row = re.search(rf'<tr data-code="{re.escape(code)}">(.*?)</tr>', page, re.S).group(1)
    return dict(re.findall(r'data-field="(\w+)">([^<]*)<', row))


def test_the_staff_page_and_csv_show_what_each_link_brought(staff_client, coalition):
    appeal, valley, river = coalition
    viewer = staff_client("viewer")
    page = viewer.get(f"/staff/appeals/{appeal.id}/links")
    assert page.status_code == 200
    text = page.data.decode()
    assert _row(text, valley.code) == {"visits": "3", "signatures": "1", "gifts": "2",
                                       "money": "$50.00", "conversion": "66.7%"}
    assert _row(text, river.code) == {"visits": "1", "signatures": "0", "gifts": "0",
                                      "money": "$0.00", "conversion": "0%"}
    assert "Download as CSV" not in text  # viewers do not export
    assert viewer.get(f"/staff/appeals/{appeal.id}/links.csv").status_code == 403

    finance = staff_client("finance")
    answer = finance.get(f"/staff/appeals/{appeal.id}/links.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.data.decode())))
    by_code = {r["code"]: r for r in rows}
    assert by_code[valley.code]["name"] == "'=Valley Friends"  # formula neutralised
    assert {k: by_code[valley.code][k] for k in
            ("kind", "visits", "signatures", "gifts", "money", "money_minor", "conversion")} \
        == {"kind": "co-signer", "visits": "3", "signatures": "1", "gifts": "2",
            "money": "50.00", "money_minor": "5000", "conversion": "66.7%"}
    assert by_code[river.code]["conversion"] == "0.0%"
    assert by_code[valley.code]["link"].endswith(f"/r/{valley.code}")


def test_every_cosigner_has_a_link_on_the_staff_page(staff_client, db, coalition):
    appeal, _valley, _river = coalition
    appeal.cosigners.append(Cosigner(name="Late Joiners", position=2))
    db.session.commit()
    page = staff_client("viewer").get(f"/staff/appeals/{appeal.id}/links").data.decode()
    assert "Late Joiners" in page
    late = db.session.scalar(select(ReferralLink).join(
        Cosigner, Cosigner.id == ReferralLink.cosigner_id).where(Cosigner.name == "Late Joiners"))
    assert _row(page, late.code)["visits"] == "0" and _row(page, late.code)["conversion"] == "—"


def test_the_cosigner_edit_page_gives_the_private_page_and_it_shows_only_its_figures(
        staff_client, client, coalition):
    appeal, valley, river = coalition
    editor = staff_client("editor")
    edit = editor.get(f"/staff/appeals/{appeal.id}/cosigners/{appeal.cosigners[0].id}")
    assert edit.status_code == 200
    html = edit.data.decode()
    # the links are shown once, in the page, not in its <title>
    assert html.count('id="cosigner-report-url"') == 1
    assert "<section" not in html.split("<title>", 1)[1].split("</title>", 1)[0]
    url = re.search(r'id="cosigner-report-url" value="([^"]+)"', html).group(1)
    assert valley.report_token in url
    path = url.split("//", 1)[1].split("/", 1)[1]

    page = client.get("/" + path)  # no login: the address is the key
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = page.text
    assert "=Valley Friends" in text and "River Trust" not in text
    figures = dict(re.findall(r'data-field="(\w+)">([^<]*)<', text))
    assert figures == {"visits": "3", "signatures": "1", "gifts": "2", "money": "$50.00",
                       "conversion": "66.7%"}
    assert f"/r/{valley.code}" in text and river.code not in text

    river_page = client.get(f"/partners/{river.report_token}").text
    assert 'data-field="visits">1<' in river_page and "Valley" not in river_page


def test_sign_then_give_through_a_cosigners_link_shows_on_the_staff_page_and_csv(
        app, client, db, staff_client, localstripe, live_server):
    appeal = create_appeal(db.session, slug="test-appeal", signatures=(True, 500))
    appeal.cosigners.append(Cosigner(name="Friends of the Valley", position=0))
    db.session.commit()
    link = referrals.cosigner_link(db.session, appeal.id, appeal.cosigners[0].id)
    db.session.commit()
    code = link.code

    client.get(f"/r/{code}")
    assert sign_and_confirm(app, client).status_code == 200
    public_id = give(client, amount="25")
    # The card step, as Stripe.js does it, against localstripe.
    page = client.get(f"/give/{public_id}")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    charged = client.post(f"/give/{public_id}/charge",
                          json={"token": support.card_token(localstripe, "4242424242424242")},
                          headers={"X-CSRFToken": token}).get_json()
    assert charged["status"] == "succeeded"
    db.session.rollback()
    donation = db.session.scalar(select(Donation))
    assert donation.referral_link_id == link.id
    assert db.session.scalar(select(Signature)).referral_link_id == link.id
    assert (donation.amount_minor, donation.payment.amount_minor) == (2500, 2500)  # untouched

    finance = staff_client("finance")
    screen = finance.get(f"/staff/appeals/{appeal.id}/links").data.decode()
    assert _row(screen, code) == {"visits": "1", "signatures": "1", "gifts": "1",
                                  "money": "$25.00", "conversion": "100%"}
    rows = list(csv.DictReader(io.StringIO(
        finance.get(f"/staff/appeals/{appeal.id}/links.csv").data.decode())))
    mine = next(r for r in rows if r["code"] == code)
    assert (mine["name"], mine["visits"], mine["signatures"], mine["gifts"], mine["money"]) \
        == ("Friends of the Valley", "1", "1", "1", "25.00")
    # The signer-then-donor's own link is listed once it brings something; not yet.
    assert [r["kind"] for r in rows] == ["co-signer"]


@pytest.mark.parametrize("token", ["x" * 43, "short", "A" * 500, "../../staff"])
def test_a_wrong_token_finds_nothing(client, coalition, token):
    assert client.get(f"/partners/{token}").status_code == 404


def test_a_signer_link_has_no_private_page(client, db, coalition):
    appeal, _valley, _river = coalition
    link = referrals.person_link(db.session, appeal.id, "p@example.org", signature_id=None)
    db.session.commit()
    assert link.report_token is None
    assert client.get("/partners/None").status_code == 404
