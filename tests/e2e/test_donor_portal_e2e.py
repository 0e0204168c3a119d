"""The donor portal in a real browser: ask for a link, open it, see the
gifts, erase; every page checked with axe-core in English and Hebrew, on a
desktop and at 390 px."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations

LINK = re.compile(r"https?://[^/\s]+(/my-gifts/link/[A-Za-z0-9_-]+)\?lang=\w+")


def seed_gifts(site, email="dana@example.org"):
    with site.db():
        from sqlalchemy import select

        from fundraiser.appeals.models import Appeal
        from fundraiser.donations import services as donations
        from fundraiser.extensions import db
        from fundraiser.money import Money
        from fundraiser.payments import services as payments
        from fundraiser.payments import states

        for appeal in db.session.scalars(select(Appeal).order_by(Appeal.id)).all()[:2]:
            gift = donations.start_donation(db.session, appeal,
                                            amount=Money(2500, appeal.currency),
                                            name="Dana Levi", email=email, comment="Onwards")
            db.session.commit()
            payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
            db.session.commit()
        db.session.remove()


def ask_and_open(page, site, email="dana@example.org"):
    outbox = site.app.extensions["mailman"].outbox
    before = len(outbox)
    page.goto(site.url + "/my-gifts")
    page.locator("#email").fill(email)
    page.locator("form button.primary").click()
    expect(page.locator("h1")).to_have_count(1)
    mail = next(m for m in outbox[before:] if "/my-gifts/link/" in m.body)
    page.goto(site.url + LINK.search(mail.body).group(1))
    page.locator("form button.primary").click()
    expect(page.locator("table.portal-gifts")).to_be_visible()


def test_portal_pages_have_no_serious_accessibility_violations(page, site, axe):
    seed_gifts(site)
    for lang in ("en", "he"):
        page.goto(f"{site.url}/lang/{lang}?next=/my-gifts")
        assert serious_violations(axe, page) == [], (lang, "request")
        page.locator("#email").fill("not an address")
        page.locator("form button.primary").click()
        assert serious_violations(axe, page) == [], (lang, "request with an error")
        ask_and_open(page, site)
        expect(page.locator("html")).to_have_attribute("dir", "rtl" if lang == "he" else "ltr")
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(site.url + "/my-gifts")
            assert serious_violations(axe, page) == [], (lang, width, "gifts")
            # Nothing runs off the side of a phone.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.goto(site.url + "/my-gifts/erase")
            assert serious_violations(axe, page) == [], (lang, width, "erase")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(site.url + "/my-gifts")
        page.locator("form.inline-form button").click()   # sign out
        expect(page.locator("#email")).to_be_visible()


def test_a_donor_erases_their_data_with_the_keyboard(page, site):
    seed_gifts(site)
    ask_and_open(page, site)
    expect(page.locator("table.portal-gifts tbody tr")).to_have_count(2)
    page.get_by_role("link", name="Erase my data…").click()
    page.get_by_label(re.compile("I understand")).press("Space")
    page.get_by_role("button", name="Erase my data").press("Enter")
    expect(page.get_by_role("heading", name="Your data is erased")).to_be_visible()
    page.goto(site.url + "/appeals/stand-with-refusers")
    expect(page.locator(".supporters")).not_to_contain_text("Dana")
    page.goto(site.url + "/my-gifts")
    expect(page.locator("#email")).to_be_visible()
