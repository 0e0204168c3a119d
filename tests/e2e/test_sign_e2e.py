"""A supporter signs the demo statement in a real browser, confirms by the
emailed link, and is counted; the sign pages pass axe in English and Hebrew."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations

SLUG = "ceasefire-now-statement"


def test_a_supporter_signs_confirms_and_is_counted(page, site, axe):
    page.goto(f"{site.url}/appeals/{SLUG}")
    expect(page.locator('[data-field="signatures"]')).to_contain_text("0 of 5,000 signatures")
    page.get_by_role("link", name="Sign the appeal").click()
    assert serious_violations(axe, page) == []
    page.get_by_role("button", name="Sign").click()
    expect(page.get_by_role("alert")).to_contain_text("Please tell us your name.")
    page.get_by_label("Full name").fill("Noa Levi")
    page.get_by_label("Email", exact=True).fill("noa@example.org")
    expect(page.get_by_label("Keep me informed about this campaign by email")).not_to_be_checked()
    page.get_by_role("button", name="Sign").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    [mail] = [m for m in site.app.extensions["mailman"].outbox if "/sign/confirm/" in m.body]
    link = re.search(r"(http://\S+/sign/confirm/\S+)", mail.body).group(1)
    page.goto(link)
    page.get_by_role("button", name="Confirm my signature").click()
    expect(page.get_by_role("heading", name="Thank you for signing, Noa Levi!")).to_be_visible()
    expect(page.locator('[data-field="signatures"]')).to_contain_text("1 of 5,000 signatures")
    assert serious_violations(axe, page) == []
    page.goto(f"{site.url}/embed/{SLUG}")
    expect(page.locator('[data-field="signatures"]')).to_contain_text("1")


def test_the_hebrew_sign_page_is_accessible(page, site, axe):
    page.goto(f"{site.url}/appeals/{SLUG}/sign?lang=he")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert serious_violations(axe, page) == []
