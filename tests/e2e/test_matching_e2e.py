"""Matching in a real browser: the live preview, the pledge offer after a
gift, the pledger's page and the public match ledger (with axe-core)."""

from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations
from tests.e2e.test_donor_e2e import APPEAL, fill_card, give


def make_pledge(site, slug="stand-with-refusers"):
    with site.db():
        from sqlalchemy import select

        from fundraiser.appeals.models import Appeal
        from fundraiser.extensions import db
        from fundraiser.matching import services as matching
        from fundraiser.payments import services as payments
        from fundraiser.payments import states
        from tests.factories import create_donation

        appeal = db.session.scalar(select(Appeal).where(Appeal.slug == slug))
        funding = create_donation(db.session, appeal, amount_minor=20_000,
                                  email="ruth@example.org", name="Ruth Cohen")
        pledge = matching.create_pledge(
            db.session, appeal_id=appeal.id, currency=appeal.currency, amount_minor=20_000,
            pledger_name="Ruth", pledger_email="ruth@example.org", origin_payment_id=None,
            funding_payment_id=funding.payment_id)
        payments.transition_to(db.session, funding.payment_id, states.SUCCEEDED)
        db.session.commit()
        code = pledge.code
        db.session.remove()
        return code


def test_the_preview_follows_the_chosen_amount(page, site):
    page.goto(site.url + APPEAL)
    preview = page.locator("#match-preview")
    expect(preview).to_contain_text("will be matched with $50.00 by The Olive Grove Fund")
    page.get_by_label("Other", exact=True).check()
    page.get_by_label("Other amount (USD)").fill("30")
    expect(preview).to_contain_text("will be matched with $30.00")
    code = make_pledge(site)
    page.goto(f"{site.url}{APPEAL}?ref={code}")
    expect(page.locator(".match-pledge")).to_contain_text("Ruth will match your gift up to $200")
    # the friend's pledge covers the whole gift; the sponsor's pool keeps its money
    expect(preview).to_contain_text("will be matched with $50.00 by Ruth.")
    page.get_by_label("Other", exact=True).check()
    page.get_by_label("Other amount (USD)").fill("300")
    expect(preview).to_contain_text(
        "will be matched with $300.00 by Ruth ($200.00), The Olive Grove Fund ($100.00)")


def test_a_donor_pledges_after_giving_in_the_browser(page, site):
    give(page, site, "25")
    fill_card(page, "4242424242424242")
    page.locator("#pay-button").click()
    expect(page.locator("#pledge-heading")).to_be_visible()
    expect(page.locator(".match-note")).to_contain_text("Your gift unlocked $25.00")
    page.get_by_label("Match my friends up to").fill("40")
    page.get_by_label("Your name on your sharing page").fill("Dana")
    # Nothing is pre-ticked: how to pay must be chosen, as must "I understand".
    expect(page.locator("#pledge input[name=mode]:checked")).to_have_count(0)
    page.get_by_role("button", name="Pledge and continue").click()
    expect(page.locator("#mode-error")).to_have_text("Please choose how you pay.")
    expect(page.locator("#agree-error")).to_contain_text("Please confirm")
    expect(page.locator("#pledge input[aria-invalid=true]")).to_have_count(3)
    expect(page.locator("#pledge input[name=mode]:checked")).to_have_count(0)
    page.get_by_label("Give the full amount now").check()
    page.get_by_label("I understand what will be charged, and when.").check()
    page.get_by_role("button", name="Pledge and continue").click()
    expect(page.locator(".match-note")).to_contain_text("This is your pledge to match friends")
    fill_card(page, "4242424242424242")
    page.locator("#pay-button").click()
    expect(page.locator(".match-note")).to_contain_text("Your pledge is live")
    page.get_by_role("link", name="Your pledge page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Dana will match your gift up to $40")


def test_matching_pages_have_no_serious_accessibility_violations(page, site, axe):
    code = make_pledge(site)
    pages = [f"{APPEAL}/matching", "/appeals/shutafut-petition/matching", f"/match/{code}",
             f"{APPEAL}?ref={code}"]
    for lang in ("en", "he"):
        page.goto(f"{site.url}/lang/{lang}?next=/")
        for path in pages:
            page.goto(site.url + path)
            assert serious_violations(axe, page) == [], (lang, path)
        # a narrow phone screen: the ledger's stacked rows
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(f"{site.url}{APPEAL}/matching")
        assert serious_violations(axe, page) == [], (lang, "ledger 390")
        page.set_viewport_size({"width": 1280, "height": 900})


def test_a_donor_saves_a_card_for_a_pledge_in_the_browser(page, site, axe):
    give(page, site, "25", email="sara@example.org")
    fill_card(page, "4242424242424242")
    page.locator("#pay-button").click()
    expect(page.locator("#pledge-heading")).to_be_visible()
    page.get_by_label("Match my friends up to").fill("60")
    page.get_by_label("Your name on your sharing page").fill("Sara")
    page.get_by_label("Save my card; charge only what my friends unlock").check()
    page.get_by_label("I understand what will be charged, and when.").check()
    page.get_by_role("button", name="Pledge and continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Save your card to match your friends")
    page.wait_for_selector("#card-element input")
    assert serious_violations(axe, page, exclude=["#card-element"]) == []
    fill_card(page, "4242424242424242")
    page.locator("#pay-button").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Sara will match your gift up to $60")
    expect(page.locator("main")).to_contain_text("charged for exactly what was unlocked")
