"""Staff-side helpers: users of each role, and a logged-in test client."""

from __future__ import annotations

import re
import warnings

import pytest
from flask import g
from sqlalchemy import MetaData, inspect, select, text

from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.staff import services
from fundraiser.staff.models import ROLES
from tests.factories import create_appeal, create_donation

PASSWORD = "plum kettle orbit ninety"


class StaffClient:
    """One staff member's browser: its own cookie jar, CSRF token from the page."""

    def __init__(self, app, email=None):
        self.client = app.test_client()
        self.email = email

    @staticmethod
    def _fresh_g():
        # Tests keep one app context pushed, so `g` outlives a request: drop
        # what Flask-Login and Flask-WTF cache there, as a real server's new
        # context per request would, or one client would see another's user.
        for name in ("_login_user", "csrf_token", "_flask_babel"):
            g.pop(name, None)

    def csrf(self) -> str:
        self._fresh_g()
        page = self.client.get("/")
        return re.search(rb'name="csrf-token" content="([^"]+)"', page.data).group(1).decode()

    def login(self, email=None, password=PASSWORD):
        self.email = email or self.email
        return self.post("/staff/login", {"email": self.email, "password": password})

    def get(self, url, **kw):
        self._fresh_g()
        return self.client.get(url, **kw)

    def post(self, url, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf()
        self._fresh_g()
        return self.client.post(url, data=data, **kw)


@pytest.fixture
def make_staff(db, client):  # `client` sets the test client class for app.test_client()
    def make(role, email=None, password=PASSWORD):
        user, _ = services.create_staff(db.session, email or f"{role}@example.org", role)
        services.set_password(db.session, user, password)
        db.session.commit()
        return user

    return make


@pytest.fixture
def staff_client(app, make_staff):
    """staff_client("finance") → a StaffClient logged in with that role."""

    def login_as(role, email=None):
        user = make_staff(role, email)
        sc = StaffClient(app, user.email)
        response = sc.login()
        assert response.status_code == 302, response.data[:500]
        return sc

    return login_as


@pytest.fixture
def card_gift(db):
    """A succeeded card gift without a real gateway (for pages, not refunds)."""
    appeal = create_appeal(db.session)
    donation = create_donation(db.session, appeal)
    db.session.execute(text("UPDATE payments SET intent_id = 'pi_fake' WHERE id = :id"),
                       {"id": donation.payment_id})
    payments.transition_to(db.session, donation.payment_id, states.SUCCEEDED)
    db.session.commit()
    return donation


_REFLECTED: dict = {}  # (dialect, table names) -> MetaData: reflecting is most of the cost


def _tables(bind) -> MetaData:
    """The database's tables, reflected once per schema (every test database
    is migrated to the same head, so one reflection serves them all)."""
    key = (bind.dialect.name, tuple(sorted(inspect(bind).get_table_names())))
    if key not in _REFLECTED:
        meta = MetaData()
        with warnings.catch_warnings():  # SQLite cannot reflect the lower(email) index
            warnings.simplefilter("ignore")
            meta.reflect(bind=bind)
        _REFLECTED[key] = meta
    return _REFLECTED[key]


def snapshot(db):
    """Every row of every table, for "nothing changed" assertions."""
    db.session.rollback()
    meta = _tables(db.session.get_bind())
    result = {}
    for name, table in sorted(meta.tables.items()):
        if name == "alembic_version":
            continue
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        result[name] = [tuple(r) for r in rows]
    db.session.rollback()
    return result


ALL_ROLES = ROLES
