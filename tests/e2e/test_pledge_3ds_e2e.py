"""A saved-card pledge whose closing charge needs 3-D Secure, in a real
browser: the pledger saves a 3-D Secure card, a friend gives through the
link, the appeal closes, and the pledger opens the mailed link, fails the
bank's check once, then completes it. localstripe's webhook reaches the live
server too: the charge still counts once, with one receipt."""

import re
import time

from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations
from tests.e2e.test_donor_e2e import APPEAL, fill_card, give

THREE_DS = "4000002760003184"
RECEIPT = "Your matching pledge to"


def mails_to(site, address):
    return [m for m in site.app.extensions["mailman"].outbox if m.to == [address]]


def test_the_pledger_completes_3d_secure_from_the_mailed_link(page, site, axe):
    # the pledger gives, then saves a card that needs 3-D Secure
    give(page, site, "25", name="Sara Katz", email="sara@example.org")
    fill_card(page, "4242424242424242")
    page.locator("#pay-button").click()
    expect(page.locator("#pledge-heading")).to_be_visible()
    page.get_by_label("Match my friends up to").fill("60")
    page.get_by_label("Your name on your sharing page").fill("Sara")
    page.get_by_label("Save my card; charge only what my friends unlock").check()
    page.get_by_label("I understand what will be charged, and when.").check()
    page.get_by_role("button", name="Pledge and continue").click()
    page.wait_for_selector("#card-element input")
    fill_card(page, THREE_DS)
    page.locator("#pay-button").click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Sara will match your gift up to $60", timeout=15000)
    code = page.url.rstrip("/").rsplit("/", 1)[1]

    # a friend gives 20 through the pledger's link
    page.goto(f"{site.url}{APPEAL}?ref={code}")
    page.get_by_label("Other", exact=True).check()
    page.get_by_label("Other amount (USD)").fill("20")
    page.get_by_label("Full name").fill("Noa Ben")
    page.get_by_label("Email", exact=True).fill("noa@example.org")
    page.get_by_role("button", name="Continue to payment").click()
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Give $20.00").click()
    expect(page.get_by_role("heading", name="Thank you, Noa!")).to_be_visible(timeout=15000)

    # the appeal closes: the bank wants the pledger, who is mailed a link
    with site.db():
        out = site.app.test_cli_runner().invoke(
            args=["charge-pledges", "--appeal", "stand-with-refusers", "--now"]).output
        from fundraiser.extensions import db

        db.session.remove()
    assert "2000 minor units, requires_action" in out, out
    asked = [m for m in mails_to(site, "sara@example.org") if "Please confirm" in m.subject]
    assert len(asked) == 1
    link = re.search(r"http://\S+/pledge-charge/\S+", asked[0].body).group(0)
    assert link.startswith(site.url)

    page.goto(link.split("?")[0] + "?lang=he")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert serious_violations(axe, page) == []
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your matching pledge")
    expect(page.locator("#charge-amount")).to_have_text("$20.00")
    assert serious_violations(axe, page) == []

    # the bank's check fails: nothing is charged, and the page says so
    page.get_by_role("button", name="Confirm with my bank and pay $20.00").click()
    page.get_by_role("button", name="Fail authentication").click()
    expect(page.locator("#pay-status")).to_contain_text("nothing was charged")
    # ... and a second try goes through
    page.get_by_role("button", name="Confirm with my bank and pay $20.00").click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.locator("#pay-status")).to_contain_text("Your card was charged", timeout=15000)
    expect(page.get_by_role("button", name="Confirm with my bank and pay $20.00")) \
        .to_have_count(0)

    time.sleep(2.5)  # localstripe's webhook comes about a second later: still one receipt
    receipts = [m for m in mails_to(site, "sara@example.org") if m.subject.startswith(RECEIPT)]
    assert len(receipts) == 1 and receipts[0].subject.endswith(": $20.00 charged"), \
        [m.subject for m in receipts]
    with site.db():
        from sqlalchemy import select

        from fundraiser.extensions import db
        from fundraiser.matching.models import MatchPledge
        from fundraiser.payments.models import Payment, WebhookEvent

        pledge = db.session.scalar(select(MatchPledge).where(MatchPledge.code == code))
        charge = db.session.get(Payment, pledge.charge_payment_id)
        assert (pledge.status, charge.status, charge.amount_minor) == \
            ("closed", "succeeded", 2000)
        outcomes = db.session.scalars(select(WebhookEvent.outcome).where(
            WebhookEvent.object_id == charge.intent_id,
            WebhookEvent.type == "payment_intent.succeeded")).all()
        db.session.remove()
    assert outcomes in (["repeat"], ["applied"]), outcomes
    # the link is used up
    assert page.goto(link).status == 404
