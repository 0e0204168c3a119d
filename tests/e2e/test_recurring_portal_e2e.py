"""A donor gives yearly in a real browser, then changes the gift from the
donor portal: a refused amount and a new one, pause and resume, another
card through Stripe.js (confirmCardSetup on localstripe's fake Stripe.js).
Every page checked with axe-core, in English and Hebrew, at 390 px too.
Screenshots go to FUNDRAISER_SCREENSHOTS when it names a folder."""

import os
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations, staff_log_in
from tests.e2e.test_donor_e2e import APPEAL, fill_card
from tests.e2e.test_donor_portal_e2e import LINK


def shoot(page, name):
    folder = os.environ.get("FUNDRAISER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_yearly_gift_changed_paused_resumed_and_moved_to_another_card(page, site, axe):
    page.goto(site.url + APPEAL)
    page.get_by_label("Other", exact=True).check()
    page.get_by_label("Other amount (USD)").fill("120")
    expect(page.get_by_label("Yearly")).not_to_be_checked()
    page.get_by_label("Yearly").check()
    page.get_by_label("Full name").fill("Dana Levi")
    page.get_by_label("Email", exact=True).fill("dana@example.org")
    page.get_by_role("button", name="Continue to payment").click()
    terms = page.locator("#monthly-terms")
    expect(terms).to_contain_text("Yearly gift:")
    expect(terms).to_contain_text("every year until you cancel")
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Give $120.00 yearly").click()
    expect(page.locator("#monthly-note")).to_contain_text("first of your yearly gifts",
                                                          timeout=15000)

    outbox = site.app.extensions["mailman"].outbox
    before = len(outbox)
    page.goto(site.url + "/my-gifts")
    page.locator("#email").fill("dana@example.org")
    page.locator("form button.primary").click()
    expect(page.locator("h1")).to_have_count(1)
    mail = next(m for m in outbox[before:] if "/my-gifts/link/" in m.body)
    page.goto(site.url + LINK.search(mail.body).group(1))
    page.locator("form button.primary").click()
    gifts = page.locator("#monthly")
    expect(gifts).to_contain_text("$120.00 a year")

    amount = gifts.get_by_label("New amount (USD)")
    amount.fill("0")
    gifts.get_by_role("button", name="Change amount").click()
    expect(page.locator(".field-error")).to_contain_text("The smallest gift we can take is $1.00")
    page.set_viewport_size({"width": 390, "height": 900})
    assert serious_violations(axe, page) == []
    shoot(page, "portal-en-390-error")
    gifts.get_by_label("New amount (USD)").fill("150")
    gifts.get_by_role("button", name="Change amount").click()
    expect(page.get_by_role("status")).to_contain_text("Your yearly gift is now $150.00 a year")
    gifts.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_contain_text("Your gift is paused")
    shoot(page, "portal-en-390-paused")
    gifts.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_contain_text("Your gift is running again")

    gifts.get_by_role("link", name="Use another card").click()
    expect(page.locator("h1")).to_have_text("Use another card")
    assert serious_violations(axe, page) == []
    shoot(page, "card-en-390")
    fill_card(page, "5555555555554444")
    page.get_by_role("button", name="Save this card").click()
    expect(page.get_by_role("status")).to_contain_text("Your card ending 4444", timeout=15000)
    assert serious_violations(axe, page) == []
    shoot(page, "portal-en-390")

    page.goto(site.url + "/lang/he?next=/my-gifts")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#monthly")).to_contain_text("בשנה")
    assert serious_violations(axe, page) == []
    shoot(page, "portal-he-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "portal-he-desktop")
    page.goto(site.url + "/lang/en?next=/my-gifts")
    shoot(page, "portal-en-desktop")

    # Staff see it in the dashboard's recurring figures: $150.00 a year = $12.50 a month.
    staff_log_in(page, site)
    page.goto(site.url + "/staff/")
    recurring = page.locator('[data-recurring-currency="USD"]')
    expect(recurring.locator('[data-figure="recurring-month"]')).to_have_text("$12.50")
    expect(recurring.locator('[data-figure="yearly-donors"]')).to_have_text("1")
    assert serious_violations(axe, page) == []
    shoot(page, "dashboard-en-desktop")
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(site.url + "/lang/he?next=/staff/")
    expect(page.locator("#recurring")).to_contain_text("הכנסה חוזרת בחודש")
    shoot(page, "dashboard-he-390")

    with site.db():
        from sqlalchemy import select

        from fundraiser.donations.models import Subscription
        from fundraiser.extensions import db

        sub = db.session.scalar(select(Subscription))
        assert (sub.interval, sub.amount_minor, sub.paused_at) == ("year", 15000, None)
        gateway = site.app.extensions["fundraiser.gateway"]
        live = gateway.client.v1.subscriptions.retrieve(sub.gateway_id).to_dict()
        plan = live["items"]["data"][0]["plan"]
        assert (plan["interval"], plan["amount"], live["cancel_at_period_end"]) == \
            ("year", 15000, False)
        db.session.remove()
