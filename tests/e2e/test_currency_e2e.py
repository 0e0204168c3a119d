"""A donor gives in shekels to a dollar appeal, in a real browser (issue 19)."""

from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import serious_violations
from tests.e2e.test_donor_e2e import fill_card

APPEAL = "/appeals/stand-with-refusers"
ECB_CSV = (Path(__file__).parent.parent / "fixtures" / "eurofxref.csv").read_bytes()


def take_shekels(site):
    from fundraiser.appeals import services as appeals
    from fundraiser.appeals.models import Appeal
    from fundraiser.extensions import db
    from fundraiser.money import Money
    from fundraiser.rates import services as rates

    with site.db():
        rates.import_ecb(db.session, ECB_CSV)
        appeal = db.session.scalar(select(Appeal).where(Appeal.slug == APPEAL.rsplit("/")[-1]))
        appeals.set_currencies(db.session, appeal, [
            ("ILS", [Money.from_major(x, "ILS") for x in (50, 100, 180)]),
            ("JOD", [Money.from_major(20, "JOD")])], second_currency="ILS")
        db.session.commit()
        site.app.extensions["fundraiser.public_cache"].clear()


def test_a_donor_chooses_shekels_gives_and_the_dollar_total_counts_it(page, site, axe):
    take_shekels(site)
    page.goto(site.url + APPEAL)
    expect(page.get_by_label("Currency")).to_have_value("USD")
    expect(page.locator("#give-currency option[value=JOD]")).to_be_disabled()
    assert serious_violations(axe, page) == []
    page.get_by_label("Currency").select_option("ILS")
    page.get_by_role("button", name="Show amounts").click()
    expect(page.get_by_text("Choose an amount (ILS)")).to_be_visible()
    page.locator("label.amount-choice", has_text="₪180").click()
    page.get_by_label("Full name").fill("Dana Levi")
    page.get_by_label("Email", exact=True).fill("dana@example.org")
    page.get_by_role("button", name="Continue to payment").click()
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Give ₪180.00").click()
    expect(page.get_by_role("heading", name="Thank you, Dana!")).to_be_visible(timeout=15000)
    page.goto(site.url + APPEAL)
    # ₪180 at 1.1642 / 3.7865 → $55.34, rounded down; shown whole on the bar
    expect(page.locator('[data-field="raised"]').first).to_have_text("$55.34")
    # the demo pool matches it 1:1 on that converted figure: $110.68 ≈ ₪360
    expect(page.locator('[data-field="matched"]').first).to_have_text("$55.34")
    expect(page.locator('[data-field="about"]')).to_contain_text("about ₪360")
    body = page.request.get(site.url + "/api/v1/appeals/stand-with-refusers").json()
    assert (body["currency"], body["raised_minor"], body["matched_minor"]) == \
        ("USD", 5_534, 5_534)


def test_the_hebrew_page_offers_shekels_and_passes_the_accessibility_check(page, site, axe):
    take_shekels(site)
    page.goto(f"{site.url}/lang/he?next={APPEAL}")
    page.goto(site.url + APPEAL)
    expect(page.locator("#give-currency")).to_have_value("ILS")
    expect(page.locator("label.amount-choice").first).to_contain_text("50")
    assert serious_violations(axe, page) == []


def give_dollars(site, dollars, email):
    """A gift that succeeds behind the page's back (the webhook's work)."""
    from fundraiser.appeals.models import Appeal
    from fundraiser.donations import services as donations
    from fundraiser.extensions import db
    from fundraiser.money import Money
    from fundraiser.payments import services as payments
    from fundraiser.payments import states

    with site.db():
        appeal = db.session.scalar(select(Appeal).where(Appeal.slug == APPEAL.rsplit("/")[-1]))
        gift = donations.start_donation(db.session, appeal, name="Dana Levi", email=email,
                                        amount=Money.from_major(dollars, "USD"))
        db.session.commit()
        payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
        db.session.commit()


def test_the_second_currency_line_follows_the_total_on_the_next_poll(page, site):
    from fundraiser.money import Money

    take_shekels(site)
    give_dollars(site, 1_000, "first@example.org")
    page.clock.install()  # the page polls every 15 s: the test moves its clock instead
    page.goto(site.url + APPEAL)
    about, total = page.locator('[data-field="about"]'), page.locator('[data-field="total"]')
    shown = about.text_content()
    assert shown.startswith("about ₪")
    give_dollars(site, 5_000, "second@example.org")        # no reload from here on
    body = page.request.get(site.url + "/api/v1/appeals/stand-with-refusers").json()
    second = Money(body["second_currency"]["about_minor"], "ILS").format("en", whole=True)
    page.clock.run_for(16_000)
    expect(about).to_have_text(f"about {second} at today's exchange rate")
    assert about.text_content() != shown
    expect(total.first).to_have_text(Money(body["total_minor"], "USD").format("en", whole=True))


def test_a_phone_sees_the_currency_choice_without_scrolling_sideways(page, site):
    # The page's one-column grid sized itself to its widest child's content
    # (the currency list): 428 px on a 390 px phone, in both directions.
    take_shekels(site)
    page.set_viewport_size({"width": 390, "height": 844})
    for prefix in ("", "/he"):
        page.goto(site.url + prefix + APPEAL)
        page.locator("#currency-form").scroll_into_view_if_needed()
        expect(page.locator("#give-currency")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, prefix
