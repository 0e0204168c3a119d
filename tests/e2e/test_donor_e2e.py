"""A donor gives on the real pages, in a real browser."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import serious_violations

APPEAL = "/appeals/stand-with-refusers"


def fill_card(page, number):
    # localstripe's fake card element: plain inputs named by placeholder.
    page.fill('#card-element input[placeholder="number"]', number)
    page.fill('#card-element input[placeholder="exp_month"]', "12")
    page.fill('#card-element input[placeholder="exp_year"]', "34")
    page.fill('#card-element input[placeholder="cvc"]', "123")
    page.fill('#card-element input[placeholder="postal_code"]', "10001")


def give(page, site, amount, name="Dana Levi", email="dana@example.org"):
    page.goto(site.url + APPEAL)
    page.get_by_label("Other", exact=True).check()
    page.get_by_label("Other amount (USD)").fill(amount)
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Your gift")).to_be_visible()


def test_a_donor_gives_with_3d_secure_and_the_goal_bar_shows_it(page, site):
    page.goto(site.url + APPEAL)
    expect(page.locator('[data-field="raised"]').first).to_have_text("$0")
    give(page, site, "40")
    fill_card(page, "4000002760003184")
    page.get_by_role("button", name="Give $40.00").click()
    # the fake Stripe.js shows its 3-D Secure box
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("heading", name="Thank you, Dana!")).to_be_visible(timeout=15000)
    expect(page.locator("#status-message")).to_contain_text("Your gift has been received")
    page.goto(site.url + APPEAL)
    expect(page.locator('[data-field="raised"]').first).to_have_text("$40")
    expect(page.locator('[data-field="donors"]').first).to_have_text("1")
    expect(page.locator(".supporters")).to_contain_text("Dana")


def test_refused_authentication_shows_failure_and_a_retry_succeeds(page, site):
    give(page, site, "15", name="Noa Ben")
    fill_card(page, "4000002760003184")
    page.get_by_role("button", name="Give $15.00").click()
    page.get_by_role("button", name="Fail authentication").click()
    expect(page.get_by_role("heading", name="Your payment did not go through")) \
        .to_be_visible(timeout=15000)
    page.get_by_role("button", name="Try again with another card").click()
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Give $15.00").click()
    expect(page.get_by_role("heading", name="Thank you, Noa!")).to_be_visible(timeout=15000)
    page.goto(site.url + APPEAL)
    expect(page.locator('[data-field="raised"]').first).to_have_text("$15")


def test_a_declined_card_is_explained(page, site):
    give(page, site, "10")
    fill_card(page, "4000000000000002")
    page.get_by_role("button", name="Give $10.00").click()
    expect(page.locator("#status-message")).to_contain_text("Your card was declined",
                                                            timeout=15000)


def test_the_gift_form_works_from_the_keyboard_alone(page, site):
    page.goto(site.url + APPEAL)
    page.locator("#amount-1").focus()           # first preset
    page.keyboard.press("ArrowRight")            # radios move with arrow keys
    page.keyboard.press("ArrowRight")
    checked = page.locator('input[name="amount"]:checked')
    expect(checked).to_have_id("amount-3")
    page.keyboard.press("Tab")                   # to the other-amount box
    page.keyboard.press("Tab")                   # to how often: one time, already chosen
    expect(page.locator('input[name="frequency"]:checked')).to_have_value("once")
    page.keyboard.press("Tab")                   # to the name
    page.keyboard.type("Keyboard Donor")
    page.keyboard.press("Tab")
    page.keyboard.type("keys@example.org")
    page.locator("button[type=submit]").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your gift")).to_be_visible()
    expect(page.locator(".summary")).to_contain_text("$100.00")


def test_form_errors_are_announced_and_tied_to_their_fields(page, site):
    page.goto(site.url + APPEAL)
    page.get_by_label("Other", exact=True).check()
    page.get_by_label("Other amount (USD)").fill("0")
    page.get_by_role("button", name="Continue to payment").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("The smallest gift we can take is $1.00")
    expect(summary).to_contain_text("Please tell us your name")
    name = page.get_by_label("Full name")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_attribute("aria-describedby", re.compile("name-error"))


def test_public_pages_have_no_serious_accessibility_violations(page, site, axe):
    pages = ["/", APPEAL, "/appeals/ceasefire-now-statement", "/appeals/shutafut-petition",
             "/no-such-page"]
    for lang in ("en", "he"):
        page.goto(f"{site.url}/lang/{lang}?next=/")
        for path in pages:
            page.goto(site.url + path)
            assert serious_violations(axe, page) == [], (lang, path)
        # the card step and the thank-you page, on a real gift
        page.goto(site.url + APPEAL)
        page.locator("label[for=amount-2]").click()
        page.locator("#name").fill("Axe Tester")
        page.locator("#email").fill("axe@example.org")
        page.locator("#give form button[type=submit]").click()
        page.wait_for_selector("#card-element input")
        # localstripe's stand-in card element has unlabelled inputs; real
        # Stripe's element is a labelled iframe. Everything else is checked.
        assert serious_violations(axe, page, exclude=["#card-element"]) == [], (lang, "pay")
        fill_card(page, "4242424242424242")
        page.locator("#pay-button").click()
        page.wait_for_selector("#thanks")
        assert serious_violations(axe, page) == [], (lang, "thanks")


def test_the_accessibility_check_does_catch_a_violation(page, site, axe):
    """The check above would be worthless if axe never reported anything here."""
    page.goto(site.url + APPEAL)
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', "
                  "'<img src=\"/static/img/favicon.svg\"><input type=\"text\">')")
    found = {rule for rule, _impact, _where in serious_violations(axe, page)}
    assert {"image-alt", "label"} <= found


TOKEN_FIELD = '#give-form input[name="csrf_token"]'


def test_a_reader_gets_no_cookie_and_a_donor_gets_a_token_on_starting_the_form(page, site):
    """The shared page sets no cookie; focusing the form fetches the donor's
    token (form_token.js), and the gift goes on from there."""
    page.goto(site.url + APPEAL)
    expect(page.get_by_role("heading", name="Give to this appeal")).to_be_visible()
    assert page.context.cookies() == []
    expect(page.locator(TOKEN_FIELD)).to_have_value("")
    page.get_by_label("Full name").fill("Dana Levi")
    expect(page.locator(TOKEN_FIELD)).not_to_have_value("")
    assert [c["name"] for c in page.context.cookies()] == ["session"]
    page.get_by_label("Email", exact=True).fill("dana@example.org")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/give/[^/?#]+(#.*)?$"), wait_until="commit")
    expect(page.get_by_role("heading", name="Your gift", exact=True)).to_be_visible()


def test_a_form_sent_before_its_token_came_waits_for_it(page, site):
    """Filled and sent by script with no focus at all (as an autofill or an
    assistive tool may): the submit waits for the token, then goes once."""
    page.goto(site.url + APPEAL)
    page.evaluate("""() => {
        const form = document.getElementById('give-form');
        form.elements.name.value = 'Kim Script';
        form.elements.email.value = 'kim@example.org';
        form.requestSubmit();
    }""")
    page.wait_for_url(re.compile(r"/give/[^/?#]+(#.*)?$"), wait_until="commit")
    expect(page.get_by_role("heading", name="Your gift", exact=True)).to_be_visible()
    with site.db():
        from fundraiser.donations.models import Donation
        from fundraiser.extensions import db

        assert db.session.query(Donation).filter_by(email="kim@example.org").count() == 1
        db.session.remove()


def test_without_script_a_second_press_starts_the_gift(browser, site):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site.url + APPEAL)
        page.get_by_label("Other", exact=True).check()
        page.get_by_label("Other amount (USD)").fill("18")
        page.get_by_label("Full name").fill("Noa Levi")
        page.get_by_label("Email", exact=True).fill("noa@example.org")
        page.get_by_role("button", name="Continue to payment").click()
        expect(page.locator("#error-summary")).to_contain_text(
            "please press “Continue to payment” once more")
        expect(page.get_by_label("Other amount (USD)")).to_have_value("18")
        page.get_by_role("button", name="Continue to payment").click()
        page.wait_for_url(re.compile(r"/give/[^/?#]+(#.*)?$"), wait_until="commit")
        expect(page.get_by_role("heading", name="Your gift", exact=True)).to_be_visible()
    finally:
        context.close()
