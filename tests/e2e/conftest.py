"""Browser tests: Playwright driving Debian's Chromium against a live server
(SQLite, like `make run`) with localstripe and its fake Stripe.js."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from tests import support
from tests.conftest import make_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        message = "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("FUNDRAISER_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@dataclass
class Site:
    url: str
    app: object
    localstripe: str

    def db(self):
        """An app context for looking at the database from the test."""
        return self.app.app_context()


@pytest.fixture
def site(tmp_path, localstripe):
    app = make_app(f"sqlite:///{tmp_path / 'e2e.sqlite'}", localstripe)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with support.LiveServer(app) as server:
        app.config["APP_URL"] = server.url
        support.register_webhook(localstripe, server.url + "/webhooks/stripe",
                                 app.config["STRIPE_WEBHOOK_SECRET"])
        yield Site(server.url, app, localstripe)
    with app.app_context():
        from fundraiser.extensions import db

        db.engine.dispose()


@pytest.fixture
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def serious_violations(axe, page, exclude=()):
    """axe-core's serious and critical findings, with where they are."""
    context = {"exclude": [[sel] for sel in exclude]} if exclude else None
    results = axe.run(page, context=context)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ]


STAFF_EMAIL = "staff@example.org"
STAFF_PASSWORD = "demo-staff-password"  # set by `flask demo` (DEMO_STAFF_PASSWORD)


def staff_log_in(page, site) -> None:
    """Log the demo staff member in through the English login form."""
    page.goto(site.url + "/staff/login")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
