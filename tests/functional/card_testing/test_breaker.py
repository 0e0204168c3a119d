"""The decline-rate breaker per appeal, through the real pages and a real
localstripe: it trips, the card form pauses (appeal page, card page, the
charge itself), staff get one email per trip and a banner, an admin resumes
gifts (audited), and it resumes by itself after the cool-down."""

import pytest
from sqlalchemy import select

from fundraiser.staff import services as staff_services
from fundraiser.staff.models import AuditEvent
from tests import support
from tests.functional.card_testing.conftest import (
    DECLINED,
    DECLINED_TOO,
    THREE_DS,
    VISA,
    Visitor,
    csrf,
)
from tests.functional.staff.conftest import PASSWORD, StaffClient

# Three declines trip it here (20 by default); the per-subject counters are
# relaxed so that only the appeal's breaker is at work.
BREAKER = {"CARD_BREAKER_DECLINES": 3, "CARD_GUARD_IP": "1000,2000",
           "CARD_GUARD_EMAIL": "1000,2000", "CARD_GUARD_CARD": "1000,2000"}


def alerts(app):
    outbox = getattr(app.extensions["mailman"], "outbox", [])  # made by the first email
    return [m for m in outbox if "Card gifts paused" in m.subject]


def decline_from(app, localstripe, n):
    _, charged = Visitor(app, localstripe, f"203.0.113.{n}").give(
        DECLINED if n % 2 else DECLINED_TOO, email=f"tester{n}@example.org")
    return charged


def admin(app, db, email="admin@example.org", role="admin"):
    user, _ = staff_services.create_staff(db.session, email, role)
    staff_services.set_password(db.session, user, PASSWORD)
    db.session.commit()
    client = StaffClient(app, email)
    assert client.login().status_code == 302
    return client


@pytest.mark.parametrize("guard_config", [BREAKER])
def test_the_breaker_trips_pauses_card_gifts_and_emails_staff_once(
        app, db, appeal, localstripe, clock):
    admin(app, db)
    waiting = Visitor(app, localstripe, "198.51.100.5")
    started = waiting.start(email="honest@example.org")   # a donor on the card page
    gift = started.headers["Location"].rsplit("/", 1)[1]
    for n in range(1, 3):
        assert decline_from(app, localstripe, n).get_json()["status"] == "failed"
    assert "give-form" in waiting.client.get("/appeals/test-appeal").data.decode()
    assert alerts(app) == []
    assert decline_from(app, localstripe, 3).get_json()["status"] == "failed"  # trips
    # new visitors: the appeal page says so plainly and has no gift form
    page = waiting.client.get("/appeals/test-appeal").data.decode()
    assert "Card gifts to this appeal are paused" in page and "give-form" not in page
    # the card page: no card form either
    pay = waiting.client.get(f"/give/{gift}")
    assert pay.status_code == 503
    assert "Card gifts to this appeal are paused" in pay.data.decode()
    assert 'id="pay"' not in pay.data.decode()
    # a card sent anyway is not passed to Stripe
    charged = waiting.charge(gift, VISA)
    assert charged.status_code == 503 and charged.get_json()["status"] == "paused"
    assert Visitor(app, localstripe, "198.51.100.6").start(
        email="new@example.org").status_code == 503
    # one email to the admins for this trip
    (mail,) = alerts(app)
    assert mail.to == ["admin@example.org"]
    assert "3 cards were declined on “Test appeal”" in mail.body
    assert "/staff/" in mail.body


@pytest.mark.parametrize("guard_config", [BREAKER])
def test_staff_see_a_banner_an_admin_resumes_gifts_and_a_new_trip_emails_again(
        app, db, appeal, localstripe, clock):
    boss = admin(app, db)
    viewer = admin(app, db, "viewer@example.org", role="viewer")
    late = Visitor(app, localstripe, "198.51.100.8")   # 3-D Secure under way before the trip
    started = late.start(email="late@example.org")
    late_gift = started.headers["Location"].rsplit("/", 1)[1]
    secret = late.charge(late_gift, THREE_DS).get_json()["client_secret"]
    for n in range(1, 4):
        decline_from(app, localstripe, n)
    assert len(alerts(app)) == 1 and alerts(app)[0].to == ["admin@example.org"]
    # a decline that arrives while paused (authentication refused) is counted,
    # but the trip was announced already: no second email
    support.authenticate_3ds(localstripe, secret, success=False)
    confirmed = late.client.post(f"/give/{late_gift}/confirm", json={},
                                 headers={"X-CSRFToken": csrf(late.client.get("/").data)})
    assert confirmed.get_json()["status"] == "failed"
    assert len(alerts(app)) == 1
    banner = viewer.get("/staff/").data.decode()
    assert "Card gifts to “Test appeal” are paused" in banner
    assert "Resume card gifts now" not in banner           # only an admin may
    reset_url = f"/staff/appeals/{appeal.id}/card-breaker/reset"
    assert viewer.post(reset_url).status_code == 403
    page = boss.get("/staff/").data.decode()
    assert "Resume card gifts now" in page
    assert boss.post(reset_url).status_code == 303
    assert "card-breaker-banner" not in boss.get("/staff/").data.decode()
    db.session.rollback()
    audit = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "card_breaker.reset")).all()
    assert [(a.actor_email, a.target_id) for a in audit] == [("admin@example.org",
                                                                str(appeal.id))]
    # gifts are open again
    _, charged = Visitor(app, localstripe, "198.51.100.9").give(VISA, email="h@example.org")
    assert charged.get_json()["status"] == "succeeded"
    # a new trip is a new email
    for n in range(11, 14):
        decline_from(app, localstripe, n)
    assert len(alerts(app)) == 2


@pytest.mark.parametrize("guard_config", [BREAKER])
def test_the_breaker_resumes_by_itself_after_the_cool_down(app, db, appeal, localstripe, clock):
    for n in range(1, 4):
        decline_from(app, localstripe, n)
    visitor = Visitor(app, localstripe, "198.51.100.7")
    assert visitor.start(email="early@example.org").status_code == 503
    clock.advance(3599)
    assert visitor.start(email="early@example.org").status_code == 503
    clock.advance(2)   # the default cool-down is an hour
    assert "give-form" in visitor.client.get("/appeals/test-appeal").data.decode()
    _, charged = visitor.give(VISA, email="later@example.org")
    assert charged.get_json()["status"] == "succeeded"


@pytest.mark.parametrize("guard_config", [{**BREAKER, "CARD_BREAKER_DECLINES": 4}])
def test_the_breaker_needs_a_high_decline_rate_not_only_a_count(
        app, db, appeal, localstripe, clock):
    # A busy appeal: many good gifts and a few declines (rate under 50 %)
    for n in range(1, 6):
        _, charged = Visitor(app, localstripe, f"198.51.100.{n}").give(
            VISA, email=f"good{n}@example.org")
        assert charged.get_json()["status"] == "succeeded"
    for n in range(1, 5):
        decline_from(app, localstripe, n)
    assert alerts(app) == []
    assert "give-form" in Visitor(app, localstripe, "198.51.100.50").client.get(
        "/appeals/test-appeal").data.decode()
