"""Shared by the card-testing tests: an app with the defences on and a clock
the test moves, and a donor that can come from any address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from fundraiser.donations.models import Donation
from fundraiser.payments.models import utcnow
from tests import support
from tests.conftest import _FreshContextClient, make_app

VISA = "4242424242424242"
DECLINED = "4000000000000002"
DECLINED_TOO = "4000000000000341"
THREE_DS = "4000002760003184"


class Clock:
    """Naive UTC "now" for the card defences; tests move it instead of sleeping."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


def guarded_app(database_url, localstripe, clock, **config):
    return make_app(database_url, localstripe, CARD_GUARD_ENABLED=True,
                    CARD_GUARD_CLOCK=clock, **config)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def guard_config():
    """Overridden by a test's parametrize to change a threshold."""
    return {}


@pytest.fixture
def app(database_url, localstripe, clock, guard_config):
    app = guarded_app(database_url, localstripe, clock, **guard_config)
    with app.app_context():
        yield app
        from fundraiser.extensions import db

        db.session.remove()
        db.engine.dispose()


def csrf(html: bytes) -> str:
    return re.search(rb'name="csrf-token" content="([^"]+)"', html).group(1).decode()


class Visitor:
    """A browser at one address: starts gifts and sends cards as pay.js does."""

    def __init__(self, app, localstripe, ip, *, shared_context=True):
        # shared_context: the test keeps the app's context pushed (as the
        # `app` fixture does); else each request gets its own, as in a server
        if shared_context:
            app.test_client_class = _FreshContextClient
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = ip
        self.localstripe = localstripe

    def start(self, email="dana@example.org", slug="test-appeal", **fields):
        page = self.client.get(f"/appeals/{slug}")
        data = {"csrf_token": support.form_token(self.client, page), "amount": "25",
                "currency": "USD", "name": "Dana Donor", "email": email, **fields}
        return self.client.post(f"/appeals/{slug}/give", data=data)

    def charge(self, public_id, number):
        page = self.client.get(f"/give/{public_id}")
        token = support.card_token(self.localstripe, number)
        return self.client.post(f"/give/{public_id}/charge", json={"token": token},
                                headers={"X-CSRFToken": csrf(self.client.get("/").data)}) \
            if page.status_code in (200, 302, 503) else page

    def give(self, number, email="dana@example.org"):
        """A whole gift; returns (the form's answer, the card's answer or None)."""
        started = self.start(email)
        if started.status_code != 303:
            return started, None
        public_id = started.headers["Location"].rsplit("/", 1)[1]
        return started, self.charge(public_id, number)


def donation_count(db) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Donation))
