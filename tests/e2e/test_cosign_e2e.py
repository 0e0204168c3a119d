"""An organisation asks to co-sign the demo statement in a real browser
(with a logo), confirms by the emailed link, and is listed once a staff
member approves it; the form, the queue and the appeal pass axe in English
and Hebrew."""

import re

from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations, staff_log_in

SLUG = "ceasefire-now-statement"


def test_an_organisation_asks_is_approved_and_listed_with_its_logo(page, site, axe, tmp_path):
    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 60), (20, 90, 60)).save(logo)
    page.goto(f"{site.url}/appeals/{SLUG}")
    page.get_by_role("link", name="Does your organisation want to co-sign?").click()
    assert serious_violations(axe, page) == []
    page.get_by_label("Organisation name").fill("Bakers for Peace")
    page.get_by_label("Website (optional)").fill("javascript:alert(1)")
    page.get_by_label("Contact email").fill("office@bakers.example.org")
    page.get_by_role("button", name="Ask to co-sign").click()
    expect(page.get_by_role("alert")).to_contain_text("starting with https://")
    assert serious_violations(axe, page) == []
    page.get_by_label("Website (optional)").fill("https://bakers.example.org")
    page.get_by_label("Country (optional)").fill("Chile")
    page.locator("#logo").set_input_files(str(logo))
    page.get_by_label("I may speak for this organisation").check()
    page.get_by_role("button", name="Ask to co-sign").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    [mail] = [m for m in site.app.extensions["mailman"].outbox if "/cosign/confirm/" in m.body]
    page.goto(re.search(r"(http://\S+/cosign/confirm/\S+)", mail.body).group(1))
    page.get_by_role("button", name="Confirm the request").click()
    expect(page.get_by_role("heading", name="Thank you: the request is confirmed")).to_be_visible()
    page.goto(f"{site.url}/appeals/{SLUG}")
    expect(page.locator("section.cosigners")).not_to_contain_text("Bakers for Peace")

    staff_log_in(page, site)
    with site.db():
        from fundraiser.appeals.models import Appeal
        from fundraiser.extensions import db

        appeal_id = db.session.query(Appeal.id).filter_by(slug=SLUG).scalar()
        db.session.remove()
    page.goto(f"{site.url}/staff/appeals/{appeal_id}/cosign-requests")
    assert serious_violations(axe, page) == []
    page.get_by_role("button", name=re.compile(r"^Approve\W+Bakers for Peace$")).click()
    expect(page.get_by_role("status")).to_contain_text("Approved: Bakers for Peace")
    for path in (f"/staff/appeals/{appeal_id}/signatures",
                 f"/staff/appeals/{appeal_id}/cosign-requests?status=approved&lang=he"):
        page.goto(site.url + path)
        assert serious_violations(axe, page) == [], path

    page.goto(f"{site.url}/appeals/{SLUG}?lang=en")
    listed = page.locator("section.cosigners li", has_text="Bakers for Peace")
    expect(listed.locator("img.cosigner-logo")).to_have_count(1)
    page.goto(f"{site.url}/appeals/{SLUG}/cosign?lang=he")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert serious_violations(axe, page) == []
