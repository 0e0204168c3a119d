"""A donor gives monthly with a 3-D Secure card in a real browser, then
cancels from the donor portal; localstripe shows the subscription canceled."""

from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations
from tests.e2e.test_donor_e2e import APPEAL, fill_card
from tests.e2e.test_donor_portal_e2e import LINK


def test_a_donor_gives_monthly_with_3d_secure_then_cancels_from_the_portal(page, site, axe):
    page.goto(site.url + APPEAL)
    expect(page.get_by_label("One time")).to_be_checked()
    page.get_by_label("Other", exact=True).check()
    page.get_by_label("Other amount (USD)").fill("12")
    page.get_by_label("Monthly").check()
    page.get_by_label("Full name").fill("Dana Levi")
    page.get_by_label("Email", exact=True).fill("dana@example.org")
    page.get_by_role("button", name="Continue to payment").click()
    terms = page.locator("#monthly-terms")
    expect(terms).to_contain_text("$12.00 now and on the")
    expect(terms).to_contain_text("of every month until you cancel")
    assert serious_violations(axe, page) == []
    fill_card(page, "4000002760003184")
    page.get_by_role("button", name="Give $12.00 monthly").click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("heading", name="Thank you, Dana!")).to_be_visible(timeout=15000)
    page.goto(site.url + APPEAL)
    expect(page.locator('[data-field="raised"]').first).to_have_text("$12")

    outbox = site.app.extensions["mailman"].outbox
    before = len(outbox)
    page.goto(site.url + "/my-gifts")
    page.locator("#email").fill("dana@example.org")
    page.locator("form button.primary").click()
    expect(page.locator("h1")).to_have_count(1)
    mail = next(m for m in outbox[before:] if "/my-gifts/link/" in m.body)
    page.goto(site.url + LINK.search(mail.body).group(1))
    page.locator("form button.primary").click()
    monthly = page.locator("#monthly")
    expect(monthly).to_contain_text("$12.00 a month")
    expect(monthly).to_contain_text("Active")
    assert serious_violations(axe, page) == []
    page.get_by_role("button", name="Cancel this monthly gift").click()
    expect(page.get_by_role("status")).to_contain_text("Your monthly gift is cancelled")
    expect(monthly).to_contain_text("Cancelled")

    with site.db():
        from sqlalchemy import select

        from fundraiser.donations.models import Subscription
        from fundraiser.extensions import db

        sub = db.session.scalar(select(Subscription))
        assert sub.status == "canceled"
        gateway = site.app.extensions["fundraiser.gateway"]
        assert gateway.client.v1.subscriptions.retrieve(sub.gateway_id).status == "canceled"
        db.session.remove()
