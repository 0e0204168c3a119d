"""French, German and Arabic in a real browser: a whole card gift under /fr/
stays French to the thank-you page (the scripts call prefixed addresses),
the public pages pass axe in each language, and the Arabic page mirrors
and fits a 390 px phone."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations
from tests.e2e.test_donor_e2e import fill_card

APPEAL = "/appeals/stand-with-refusers"


def test_a_gift_under_fr_stays_french_to_the_thank_you_page(page, site):
    page.goto(f"{site.url}/fr{APPEAL}")
    page.get_by_label("Autre", exact=True).check()
    page.get_by_label("Autre montant (USD)").fill("12,50")
    page.get_by_label("Nom complet").fill("Camille Martin")
    page.get_by_label("E-mail", exact=True).fill("camille@example.org")
    page.get_by_role("button", name="Continuer vers le paiement").click()
    expect(page.get_by_role("heading", name="Votre don")).to_be_visible()
    assert re.search(r"/fr/give/", page.url)
    fill_card(page, "4242424242424242")
    page.locator("#pay-button").click()
    page.wait_for_selector("#thanks")
    assert "/fr/give/" in page.url
    assert page.locator("html").get_attribute("lang") == "fr"
    expect(page.locator("#thanks")).to_contain_text("12,50")


def test_public_pages_pass_axe_in_french_german_and_arabic(page, site, axe):
    for lang in ("fr", "de", "ar"):
        for path in ("/", APPEAL, "/appeals/ceasefire-now-statement", "/my-gifts",
                     "/no-such-page"):
            page.goto(f"{site.url}/{lang}{path}")
            assert page.locator("html").get_attribute("lang") == lang
            assert serious_violations(axe, page) == [], (lang, path)


def test_the_arabic_appeal_mirrors_and_fits_a_phone(page, site):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{site.url}/ar{APPEAL}")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The site's name sits at the right-hand edge, as Arabic reads.
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] + brand["width"] > 390 - 40
    page.set_viewport_size({"width": 1280, "height": 800})
    heading = page.get_by_role("heading", name="تبرّع لهذه الحملة").bounding_box()
    story = page.locator(".story").first.bounding_box()
    assert heading["x"] < story["x"]  # the gift form is on the left, the story on the right
