"""A staff member watches a donor's gift arrive on the dashboard (without a
reload), refunds it through the real gateway, and sees the total drop.

Uses the `site` fixture from tests/e2e/conftest.py (live server + localstripe
+ Chromium); skips cleanly where that fixture is not present."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright")

from playwright.sync_api import expect  # noqa: E402

from tests import support  # noqa: E402
from tests.e2e.conftest import STAFF_EMAIL, STAFF_PASSWORD, staff_log_in  # noqa: E402

APPEAL_SLUG = "stand-with-refusers"


@pytest.fixture
def staff_site(request):
    try:
        return request.getfixturevalue("site")
    except pytest.FixtureLookupError:
        pytest.skip("needs the `site` fixture from tests/e2e/conftest.py")


def donor_gives(site, amount: str, name: str) -> None:
    """A donor's gift through the public pages, without a browser: form with
    CSRF, then the card token from localstripe, as Stripe.js would send it."""
    import requests

    s = requests.Session()
    page = s.get(f"{site.url}/appeals/{APPEAL_SLUG}", timeout=10)
    csrf = support.form_token(s, page, site.url)
    r = s.post(f"{site.url}/appeals/{APPEAL_SLUG}/give", allow_redirects=False, timeout=10,
               data={"csrf_token": csrf, "amount": "other", "other_amount": amount,
                     "currency": "USD", "name": name, "email": "e2e.donor@example.org"})
    assert r.status_code == 303, r.text[:2000]
    public_id = r.headers["Location"].rsplit("/", 1)[1]
    token = support.card_token(site.localstripe, "4242424242424242")
    charged = s.post(f"{site.url}/give/{public_id}/charge", json={"token": token},
                     headers={"X-CSRFToken": csrf}, timeout=30)
    assert charged.json()["status"] == "succeeded", charged.text


def test_staff_sees_a_new_gift_live_refunds_it_and_the_total_drops(staff_site, request):
    site = staff_site
    with site.db():
        from sqlalchemy import select

        from fundraiser.appeals.models import Appeal
        from fundraiser.extensions import db

        appeal_id = db.session.scalar(select(Appeal.id).where(Appeal.slug == APPEAL_SLUG))
        db.session.remove()
    page = request.getfixturevalue("page")
    staff_log_in(page, site)
    page.goto(f"{site.url}/staff/?appeal={appeal_id}")
    raised = page.locator('[data-currency="USD"] [data-figure="raised"]')
    expect(raised).to_have_text("$0.00")

    donor_gives(site, "40", "Avi Refundme")
    # The dashboard polls: the gift and the new total appear without a reload.
    recent = page.locator("#recent-gifts")
    expect(recent).to_contain_text("Avi Refundme", timeout=20_000)
    expect(raised).to_have_text("$40.00", timeout=20_000)

    recent.get_by_role("link", name="Avi Refundme").click()
    expect(page.get_by_role("heading", name="Gift of $40.00 from Avi Refundme")).to_be_visible()
    page.get_by_label("Amount to refund").fill("40")
    page.get_by_label("Reason").fill("Donor gave twice by mistake")
    page.get_by_role("button", name="Refund").click()
    expect(page.get_by_text("Refunded $40.00.")).to_be_visible()
    expect(page.locator('[data-field="status"]')).to_have_text("Refunded")

    page.goto(f"{site.url}/staff/?appeal={appeal_id}")
    expect(raised).to_have_text("$0.00")
    expect(recent).to_contain_text("Refunded")

    try:
        from tests.e2e.conftest import serious_violations
    except ImportError:  # pragma: no cover - the conftest always has it today
        return
    axe = request.getfixturevalue("axe")
    for path in ("/staff/", "/staff/donations", "/staff/donations?status=refunded",
                 "/staff/donors", "/staff/audit", "/staff/users", "/staff/appeals",
                 f"/staff/appeals/{appeal_id}/edit", f"/staff/appeals/{appeal_id}/pools",
                 f"/staff/appeals/{appeal_id}/translations", "/staff/gifts/new",
                 "/staff/donations/1",
                 "/lang/he?next=/staff/"):
        page.goto(site.url + path)
        assert serious_violations(axe, page) == [], path
    page.get_by_role("button", name="יציאה", exact=True).click()
    expect(page.get_by_role("heading", name="כניסת צוות")).to_be_visible()
    assert serious_violations(axe, page) == [], "login"


def test_staff_pages_fit_a_phone_in_english_and_hebrew(staff_site, request):
    """On a 390 px phone no staff page scrolls sideways: a wide table scrolls
    in its own box. (In Hebrew an overflowing table pushed the whole page
    off the screen's right-hand side.)"""
    site = staff_site
    donor_gives(site, "25", "Noa Phonecheck")
    with site.db():
        from sqlalchemy import select

        from fundraiser.appeals.models import Appeal
        from fundraiser.donations.models import Donation
        from fundraiser.extensions import db

        appeal_id = db.session.scalar(select(Appeal.id).where(Appeal.slug == APPEAL_SLUG))
        gift_id = db.session.scalar(select(Donation.id).where(
            Donation.donor_name == "Noa Phonecheck"))
        db.session.remove()
    page = request.getfixturevalue("page")
    page.set_viewport_size({"width": 390, "height": 844})
    staff_log_in(page, site)
    paths = ("/staff/", "/staff/donations", f"/staff/donations/{gift_id}", "/staff/donors",
             "/staff/appeals", f"/staff/appeals/{appeal_id}/pools", "/staff/audit",
             "/staff/users", "/staff/rates", "/staff/jobs", "/staff/gifts/new")
    for lang in ("en", "he"):
        page.goto(f"{site.url}/lang/{lang}?next=/staff/")
        for path in paths:
            page.goto(site.url + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, (lang, path)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{site.url}/lang/en?next=/")


def test_a_first_monthly_gift_appears_on_the_open_dashboard(staff_site, request):
    """The page was opened before any monthly gift: when one starts (its
    first payment through, as the gateway's events record it), the monthly
    figures appear in their own block, labels in the page's language,
    without a reload."""
    site = staff_site
    page = request.getfixturevalue("page")
    page.goto(site.url + "/lang/he?next=/staff/login")
    page.get_by_label("דוא״ל").fill(STAFF_EMAIL)
    page.get_by_label("סיסמה").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="כניסה").click()
    page.goto(site.url + "/staff/")
    section = page.locator("#recurring")
    expect(section.locator("#no-recurring")).to_be_visible()
    with site.db():
        from sqlalchemy import select

        from fundraiser.appeals.models import Appeal
        from fundraiser.donations.models import Subscription
        from fundraiser.extensions import db

        appeal_id = db.session.scalar(select(Appeal.id).where(Appeal.slug == APPEAL_SLUG))
        db.session.add(Subscription(appeal_id=appeal_id, amount_minor=1_800, currency="ILS",
                                    email="live.monthly@example.org", status="active",
                                    gateway_id="sub_live_dashboard"))
        db.session.commit()
        db.session.remove()
    block = section.locator('[data-recurring-currency="ILS"]')
    expect(block.locator('[data-figure="monthly-donors"]')).to_have_text("1", timeout=20_000)
    expect(block.locator('[data-figure="recurring-month"]')).to_contain_text("18.00")
    expect(block).to_contain_text("תורמים חודשיים פעילים")
    expect(section.locator("#no-recurring")).to_have_count(0)
