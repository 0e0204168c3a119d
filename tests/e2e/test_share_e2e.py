"""Share links in a real browser: a co-signer's link opens the appeal in the
language it was shared in and is counted once; the co-signer's private page
shows it, its copy button copies, and it passes axe in English and Hebrew
(at 390 px too)."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations

SLUG = "ceasefire-now-statement"


def _cosigner_link(site):
    with site.db():
        from fundraiser.appeals.models import Appeal
        from fundraiser.extensions import db
        from fundraiser.referrals import services as referrals

        appeal = db.session.scalar(db.select(Appeal).where(Appeal.slug == SLUG))
        link = referrals.cosigner_link(db.session, appeal.id, appeal.cosigners[0].id)
        db.session.commit()
        return link.code, link.report_token, appeal.cosigners[0].name


def test_a_cosigners_link_and_private_page(page, site, axe):
    code, token, name = _cosigner_link(site)
    page.goto(f"{site.url}/r/{code}?lang=he")
    expect(page).to_have_url(re.compile(rf"/appeals/{SLUG}\?lang=he$"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.reload()
    page.goto(f"{site.url}/r/{code}")

    page.goto(f"{site.url}/partners/{token}?lang=en")
    expect(page.get_by_role("heading", name="What your link brought")).to_be_visible()
    expect(page.locator('[data-field="visits"]')).to_have_text("1")
    expect(page.get_by_text(name, exact=False).first).to_be_visible()
    expect(page.locator("#share-url")).to_have_value(re.compile(rf"/r/{code}\?lang=en$"))
    expect(page.locator(".share-qr svg")).to_be_visible()
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#share-copied")).to_have_text("Copied")
    assert serious_violations(axe, page) == []

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{site.url}/partners/{token}?lang=he")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#share-url")).to_have_value(re.compile(rf"/r/{code}\?lang=he$"))
    assert serious_violations(axe, page) == []
    # Nothing scrolls sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
