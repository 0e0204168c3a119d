"""Login, CSRF, sessions that end everywhere, set-password links (the
defences against guessing are in test_login_defences.py)."""

from datetime import timedelta

from sqlalchemy import select

from fundraiser.payments.models import utcnow
from fundraiser.staff import services
from fundraiser.staff.models import StaffUser
from tests.functional.staff.conftest import PASSWORD, StaffClient


def test_login_lands_on_the_dashboard_and_the_cookie_is_httponly(app, make_staff):
    make_staff("viewer")
    sc = StaffClient(app, "viewer@example.org")
    assert sc.get("/staff/").status_code == 302  # anonymous: to the login page
    response = sc.login()
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = sc.get("/staff/")
    assert page.status_code == 200 and b"viewer@example.org" in page.data
    assert page.headers["Cache-Control"] == "no-store"


def test_passwords_are_stored_as_argon2id(db, make_staff):
    user = make_staff("viewer")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_a_wrong_password_is_refused_with_a_helpful_message(app, make_staff):
    make_staff("viewer")
    sc = StaffClient(app, "viewer@example.org")
    response = sc.login(password="wrong password here")
    assert response.status_code == 401
    assert b"do not match" in response.data
    unknown = sc.login(email="nobody@example.org")
    assert unknown.status_code == 401 and b"do not match" in unknown.data


def test_a_login_without_csrf_token_is_rejected(app, make_staff):
    make_staff("admin")
    sc = StaffClient(app, "admin@example.org")
    response = sc.post("/staff/login", {"email": "admin@example.org", "password": PASSWORD},
                       csrf=False)
    assert response.status_code == 400
    assert sc.get("/staff/").status_code == 302


def test_logout_everywhere_ends_every_session_of_that_user(app, make_staff):
    make_staff("editor")
    laptop, phone = StaffClient(app, "editor@example.org"), StaffClient(app, "editor@example.org")
    laptop.login()
    phone.login()
    assert phone.get("/staff/").status_code == 200
    assert laptop.post("/staff/logout-everywhere").status_code == 302
    assert phone.get("/staff/").status_code == 302
    assert laptop.get("/staff/").status_code == 302
    assert phone.get("/staff/api/recent").status_code == 401
    # and logging in again works
    assert phone.login().status_code == 302 and phone.get("/staff/").status_code == 200


def test_plain_logout_needs_a_post_with_csrf(app, make_staff):
    make_staff("viewer")
    sc = StaffClient(app, "viewer@example.org")
    sc.login()
    assert sc.get("/staff/logout").status_code == 405
    assert sc.post("/staff/logout", csrf=False).status_code == 400
    assert sc.get("/staff/").status_code == 200
    sc.post("/staff/logout")
    assert sc.get("/staff/").status_code == 302


def test_create_staff_prints_a_one_time_link_that_sets_the_password(app, db, runner, client):
    result = runner.invoke(args=["create-staff", "New@Example.org", "--role", "editor"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1].split()[-1]
    assert link.startswith("http://127.0.0.1:5000/staff/set-password/")
    path = link.split("127.0.0.1:5000", 1)[1]
    token = path.rsplit("/", 1)[1]
    db.session.rollback()
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == "new@example.org"))
    assert user.password_hash is None
    assert token not in (user.set_password_token_hash or "")  # only the hash is stored
    sc = StaffClient(app, "new@example.org")
    assert sc.login(password="anything at all").status_code == 401  # no password yet
    page = sc.get(path)
    assert page.status_code == 200 and b"new@example.org" in page.data
    short = sc.post(path, {"password": "short", "confirm": "short"})
    assert short.status_code == 200 and b"field-error" in short.data
    phrase = "a long new pass phrase"
    done = sc.post(path, {"password": phrase, "confirm": phrase})
    assert done.status_code == 302
    assert sc.get(path).status_code == 404  # used up
    assert sc.login(password="a long new pass phrase").status_code == 302


def test_an_expired_set_password_link_is_refused(app, db, client):
    user, _ = services.create_staff(db.session, "late@example.org", "viewer")
    token = services.issue_set_password_token(db.session, user,
                                              now=utcnow() - timedelta(hours=49))
    db.session.commit()
    assert client.get(f"/staff/set-password/{token}").status_code == 404
    assert client.get("/staff/set-password/not-a-token").status_code == 404


def test_login_never_redirects_off_the_staff_side(app, make_staff):
    make_staff("viewer")
    sc = StaffClient(app, "viewer@example.org")
    response = sc.post("/staff/login?next=https://evil.example/x",
                       {"email": "viewer@example.org", "password": PASSWORD})
    assert response.headers["Location"] == "/staff/"


def test_the_session_cookie_is_secure_when_the_site_is_https(database_url, tmp_path):
    from tests.conftest import make_app

    app = make_app(database_url, APP_URL="https://give.example.org")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.app_context():
        from fundraiser.extensions import db

        user, _ = services.create_staff(db.session, "tls@example.org", "viewer")
        services.set_password(db.session, user, PASSWORD)
        db.session.commit()
        sc = StaffClient(app, "tls@example.org")
        response = sc.login()
        assert "Secure" in response.headers["Set-Cookie"]
        db.session.remove()
        db.engine.dispose()


def test_a_deactivated_user_is_logged_out_and_cannot_log_in(app, db, make_staff, staff_client):
    admin = staff_client("admin", "boss@example.org")
    user = make_staff("viewer")
    viewer = StaffClient(app, "viewer@example.org")
    viewer.login()
    assert viewer.get("/staff/").status_code == 200
    admin.post(f"/staff/users/{user.id}", {f"u{user.id}-role": "viewer"})  # box unticked
    assert viewer.get("/staff/").status_code == 302
    assert viewer.login().status_code == 401


def test_a_login_ends_after_twelve_hours(app, make_staff):
    import time as clock

    make_staff("viewer")
    sc = StaffClient(app, "viewer@example.org")
    sc.login()
    assert sc.get("/staff/").status_code == 200
    with sc.client.session_transaction() as s:
        s["staff_auth_at"] = int(clock.time()) - 12 * 3600 - 1
    assert sc.get("/staff/").status_code == 302
