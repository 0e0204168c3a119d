"""Staff login under attack (issue 15): failures slow the guesser down per
address and per account instead of locking the account, the answer is the
same whether or not the email is staff, admins hear of a burst once, and
logging out ends the session on the server."""

import re

import pytest
from sqlalchemy import select

from fundraiser.staff import services
from fundraiser.staff.models import StaffUser
from tests.conftest import app_with
from tests.functional.staff.conftest import PASSWORD, StaffClient

ATTACKER, OWNER = "203.0.113.9", "198.51.100.7"
TOO_MANY = b"Too many login attempts"


def staff_app(database_url, **config):
    """An app with the login limits on (the suite runs with them off)."""
    return app_with(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                    **config)


def add_staff(email, role="viewer", active=True):
    from fundraiser.extensions import db

    user, _ = services.create_staff(db.session, email, role)
    services.set_password(db.session, user, PASSWORD)
    user.is_active = active
    db.session.commit()


def browser(app, address, email="finance@example.org"):
    sc = StaffClient(app, email)
    sc.client.environ_base["REMOTE_ADDR"] = address
    return sc


def page_text(response) -> str:
    """The page without what differs on every request (tokens, ids)."""
    text = re.sub(r'(name="csrf[-_]token"[^>]*value|content)="[^"]*"', "", response.text)
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def limited_app(database_url):
    with staff_app(database_url, STAFF_LOGIN_LIMIT_ACCOUNT_ADDRESS="5 per minute",
                   STAFF_LOGIN_LIMIT_ADDRESS="50 per minute",
                   STAFF_LOGIN_LIMIT_ACCOUNT="50 per minute") as app:
        add_staff("finance@example.org", "finance")
        yield app


def test_failures_never_lock_the_account_out(app, make_staff):
    make_staff("finance")
    guesser = StaffClient(app, "finance@example.org")
    for _ in range(12):  # limits are off in the suite: only the lock could refuse
        wrong = guesser.login(password="guess guess guess")
        assert wrong.status_code == 401 and b"do not match" in wrong.data
    assert StaffClient(app, "finance@example.org").login().status_code == 302


def test_an_attacker_is_slowed_and_the_owner_still_logs_in_from_elsewhere(limited_app):
    attacker = browser(limited_app, ATTACKER)
    for _ in range(5):
        assert attacker.login(password="guess guess guess").status_code == 401
    refused = attacker.login(password="guess guess guess")
    assert refused.status_code == 429 and TOO_MANY in refused.data
    assert int(refused.headers["Retry-After"]) > 0
    assert attacker.login().status_code == 429       # from there, even the right one waits
    owner = browser(limited_app, OWNER)
    assert owner.login().status_code == 302
    assert owner.get("/staff/").status_code == 200


def test_an_unknown_email_gets_the_same_answers_as_a_staff_email(limited_app):
    staff, stranger = browser(limited_app, ATTACKER), browser(limited_app, OWNER)
    for _ in range(5):
        known = staff.login(password="guess guess guess")
        unknown = stranger.login(email="nobody@example.org", password="guess guess guess")
        assert (known.status_code, unknown.status_code) == (401, 401)
        assert page_text(known).replace("finance@example.org", "EMAIL") == \
            page_text(unknown).replace("nobody@example.org", "EMAIL")
    known = staff.login(password="guess guess guess")
    unknown = stranger.login(email="nobody@example.org", password="guess guess guess")
    assert (known.status_code, unknown.status_code) == (429, 429)
    assert page_text(known).replace("finance@example.org", "EMAIL") == \
        page_text(unknown).replace("nobody@example.org", "EMAIL")


def test_one_address_trying_many_accounts_is_slowed(database_url):
    with staff_app(database_url, STAFF_LOGIN_LIMIT_ADDRESS="4 per minute") as app:
        sprayer = browser(app, ATTACKER)
        for n in range(4):
            assert sprayer.login(email=f"s{n}@example.org").status_code == 401
        assert sprayer.login(email="s9@example.org").status_code == 429
        assert browser(app, OWNER).login(email="s9@example.org").status_code == 401


def test_many_addresses_meet_the_account_limit_but_a_browser_that_logged_in_before_does_not(
        database_url):
    with staff_app(database_url, STAFF_LOGIN_LIMIT_ACCOUNT="4 per minute") as app:
        add_staff("finance@example.org", "finance")
        laptop = browser(app, OWNER)
        assert laptop.login().status_code == 302
        laptop.post("/staff/logout")
        for n in range(4):
            assert browser(app, f"203.0.113.{n}").login(password="x" * 12).status_code == 401
        assert browser(app, "203.0.113.99").login(password="x" * 12).status_code == 429
        assert browser(app, "192.0.2.1").login().status_code == 429    # a new browser waits
        laptop.client.environ_base["REMOTE_ADDR"] = "192.0.2.2"         # the known one does not
        assert laptop.login().status_code == 302


def test_admins_get_one_email_for_a_burst_of_failures(database_url):
    with staff_app(database_url, STAFF_LOGIN_ALERT="6 per 10 minutes") as app:
        add_staff("boss@example.org", "admin")
        add_staff("former@example.org", "admin", active=False)
        add_staff("viewer@example.org", "viewer")
        for n in range(20):
            browser(app, f"203.0.113.{n}").login(email="viewer@example.org",
                                                  password="guess guess guess")
        outbox = getattr(app.extensions["mailman"], "outbox", [])
        alerts = [m for m in outbox if "failed" in m.subject]
        assert len(alerts) == 1
        assert alerts[0].to == ["boss@example.org"]
        assert "203.0.113.6" in alerts[0].body          # the attempt that passed the line
        assert "http://127.0.0.1:5000/staff/audit" in alerts[0].body
        from fundraiser.extensions import db
        from fundraiser.staff.models import AuditEvent
        assert db.session.scalar(select(AuditEvent.action).where(
            AuditEvent.action == "staff.login_burst")) == "staff.login_burst"


@pytest.mark.parametrize("proxies,separate", [(1, True), (0, False)])
def test_forwarded_for_is_believed_only_from_the_configured_proxies(
        database_url, proxies, separate):
    with staff_app(database_url, PROXY_COUNT=proxies,
                   STAFF_LOGIN_LIMIT_ADDRESS="3 per minute") as app:
        first, second = StaffClient(app, "a@example.org"), StaffClient(app, "b@example.org")
        first.client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.1"
        second.client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.2"
        for _ in range(3):
            assert first.login(password="guess guess guess").status_code == 401
        assert first.login(password="guess guess guess").status_code == 429
        behind_the_same_balancer = second.login(password="guess guess guess")
        assert behind_the_same_balancer.status_code == (401 if separate else 429)


def test_logging_out_ends_the_session_for_a_copied_cookie_too(app, db, make_staff):
    make_staff("finance")
    owner = StaffClient(app, "finance@example.org")
    assert owner.login().status_code == 302
    thief = StaffClient(app)
    cookie = owner.client.get_cookie("session")
    thief.client.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    assert thief.get("/staff/").status_code == 200          # a copy works while logged in
    assert owner.post("/staff/logout").status_code == 302
    assert thief.get("/staff/").status_code == 302           # ... and not after logout
    assert thief.get("/staff/api/recent").status_code == 401
    assert owner.login().status_code == 302 and owner.get("/staff/").status_code == 200
    db.session.rollback()
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == "finance@example.org"))
    assert user.is_active


@pytest.mark.parametrize("password,message", [
    ("short pass", b"at least 12 characters"),
    ("aaaaaaaaaaaaaaaa", b"one character repeated"),
    ("Password2024!", b"among the most common"),
    ("qwertyuiop123", b"among the most common"),
    ("123456789012", b"among the most common"),
    ("new@example.org", b"your email address"),
])
def test_weak_passwords_are_refused_where_staff_set_them(
        app, db, runner, password, message):
    result = runner.invoke(args=["create-staff", "new@example.org", "--role", "editor"])
    path = "/staff/" + result.output.strip().splitlines()[-1].split("/staff/", 1)[1]
    sc = StaffClient(app, "new@example.org")
    refused = sc.post(path, {"password": password, "confirm": password})
    assert refused.status_code == 200 and message in refused.data
    db.session.rollback()
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == "new@example.org"))
    assert user.password_hash is None
    with pytest.raises(services.StaffError):
        services.set_password(db.session, user, password)
    good = "violet tractor mango seventeen"
    assert sc.post(path, {"password": good, "confirm": good}).status_code == 302
