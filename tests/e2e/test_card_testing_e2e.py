"""A donor caught by the card-testing defences reads why on the card page,
in a real browser, instead of "Sending…" forever; after a short wait the
button comes back."""

import re

import pytest
from playwright.sync_api import expect

from tests import support
from tests.conftest import make_app
from tests.e2e.conftest import Site
from tests.e2e.test_donor_e2e import fill_card, give


def guarded_site(tmp_path, localstripe, **config):
    app = make_app(f"sqlite:///{tmp_path / 'e2e.sqlite'}", localstripe,
                   CARD_GUARD_ENABLED=True, **config)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def site_for(tmp_path, localstripe):
    servers = []

    def start(**config):
        app = guarded_site(tmp_path, localstripe, **config)
        server = support.LiveServer(app).__enter__()
        servers.append((app, server))
        app.config["APP_URL"] = server.url
        return Site(server.url, app, localstripe)

    yield start
    for app, server in servers:
        server.__exit__(None, None, None)
        with app.app_context():
            from fundraiser.extensions import db

            db.engine.dispose()


def test_a_blocked_donor_reads_why_on_the_card_page(page, site_for):
    # one decline blocks the card (1 + 5 = 6 of 6)
    site = site_for(CARD_GUARD_CARD="6,6")
    give(page, site, "10")
    fill_card(page, "4000000000000002")
    page.get_by_role("button", name="Give $10.00").click()
    expect(page.locator("#status-message")).to_contain_text("Your card was declined",
                                                            timeout=15000)
    page.get_by_role("button", name="Try again with another card").click()
    fill_card(page, "4000000000000002")                       # the same card again
    button = page.get_by_role("button", name="Give $10.00")
    button.click()
    status = page.locator("#pay-status")
    expect(status).to_contain_text("card payments from here are paused after too many "
                                   "attempts. Please try again in 60 minutes", timeout=15000)
    expect(button).to_be_disabled()
    expect(page.get_by_role("heading", name="Your gift")).to_be_visible()  # no reload


def test_a_donor_told_to_wait_gets_the_button_back_and_gives(page, site_for):
    # one decline makes the card wait a few seconds before its next try
    site = site_for(CARD_GUARD_CARD="6,100", CARD_GUARD_SLOW_SECONDS=8)
    give(page, site, "12", name="Noa Ben")
    fill_card(page, "4000000000000002")
    page.get_by_role("button", name="Give $12.00").click()
    expect(page.locator("#status-message")).to_contain_text("Your card was declined",
                                                            timeout=15000)
    page.get_by_role("button", name="Try again with another card").click()
    fill_card(page, "4000000000000002")
    button = page.get_by_role("button", name="Give $12.00")
    button.click()
    expect(page.locator("#pay-status")).to_contain_text(
        re.compile(r"Please wait \d+ seconds?, then try again"), timeout=15000)
    expect(button).to_be_disabled()
    expect(button).to_be_enabled(timeout=20000)
    expect(page.locator("#pay-status")).to_contain_text("You can try again now")
    fill_card(page, "4242424242424242")
    button.click()
    expect(page.get_by_role("heading", name="Thank you, Noa!")).to_be_visible(timeout=15000)
