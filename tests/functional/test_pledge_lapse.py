"""A saved-card pledge whose closing charge waits for the pledger's bank (3-D
Secure) does not wait for ever: PLEDGE_LAPSE_AFTER_DAYS after they were
asked, the charge is canceled at Stripe (localstripe here), the pledge
lapses, what it had matched is released as after a declined charge, the
pledger is told once, and staff see "lapsed". The same runs as the
reminder do it (`charge-pledges` from cron, the scheduler's hourly task).
Both databases."""

from datetime import timedelta

from sqlalchemy import func, select

from fundraiser import tasks
from fundraiser.matching.models import MatchEntry, MatchPledge
from fundraiser.payments import states
from fundraiser.payments.models import utcnow
from tests import support
from tests.functional.test_matching_card_pledge import api
from tests.functional.test_pledge_3ds import (
    ASKED,
    close,
    link_in,
    path_of,
    pledge_a_3ds_card,
    post_json,
    the_pledge,
    to_dana,
)

LAPSED = "Your matching pledge to Test appeal has lapsed; nothing was charged"


def asked_days_ago(db, days):
    db.session.execute(MatchPledge.__table__.update().values(
        auth_requested_at=utcnow() - timedelta(days=days)))
    db.session.commit()


def scheduled_task():
    from fundraiser.scheduler import TASKS

    [task] = [t for t in TASKS if t.name == "remind-waiting-pledgers"]
    return task


def matched_by_pledges(db):
    db.session.rollback()
    return db.session.scalar(select(func.coalesce(func.sum(MatchEntry.amount_minor), 0))
                             .where(MatchEntry.pledge_id.is_not(None)))


def test_a_charge_waiting_too_long_lapses_once_and_releases_its_match(
        app, donor, appeal, client, db, runner, gateway):
    from fundraiser.staff import services as staff
    from tests.functional.staff.conftest import PASSWORD, StaffClient

    code = pledge_a_3ds_card(donor, client, db)
    close(runner)
    link = path_of(link_in(to_dana(app)[1]))
    days = app.config["PLEDGE_LAPSE_AFTER_DAYS"]
    assert days == 14
    asked_days_ago(db, days - 1)                     # reminded, not lapsed yet
    assert tasks.pledges_to_lapse() == []
    out = close(runner)
    assert "lapsed" not in out and "reminded" in out
    assert matched_by_pledges(db) == 3000
    assert api(client)["matched_minor"] == 3000

    asked_days_ago(db, days)
    pledge, charge = the_pledge(db)
    assert tasks.pledges_to_lapse() == [pledge.id]
    assert scheduled_task().when()                   # the scheduler would queue its job
    out = close(runner)                              # cron's charge-pledges lapses it
    assert f"pledge {pledge.id}: lapsed" in out
    pledge, charge = the_pledge(db)
    assert (pledge.status, charge.status) == ("lapsed", states.CANCELED)
    assert gateway.retrieve(charge.intent_id).status == states.CANCELED
    # its match is released the way a declined charge releases it
    assert matched_by_pledges(db) == 0
    assert api(client)["matched_minor"] == 0
    assert "pledge withdrawn: line" in client.get("/appeals/test-appeal/matching").text
    page = client.get(f"/match/{code}")
    assert page.status_code == 200 and "This pledge has lapsed" in page.text
    # the pledger is told once, in their mail; their link no longer works
    mails = to_dana(app)
    assert [m.subject for m in mails][-1] == LAPSED
    assert "not confirmed within 14 days" in mails[-1].body
    assert "nothing has been charged" in mails[-1].body
    assert client.get(link).status_code == 404
    # again, from cron or the scheduler's job: nothing more happens
    assert "lapsed" not in close(runner)
    assert tasks.lapse_waiting_pledges() == 0 and tasks.remind_waiting_pledgers() == 0
    assert not scheduled_task().when()
    assert [m.subject for m in to_dana(app)].count(LAPSED) == 1
    assert ASKED not in [m.subject for m in to_dana(app)][2:]  # no reminder after it

    user, _ = staff.create_staff(db.session, "vi@example.org", "viewer")
    staff.set_password(db.session, user, PASSWORD)
    db.session.commit()
    viewer = StaffClient(app, "vi@example.org")
    viewer.login()
    seen = viewer.get(f"/staff/appeals/{pledge.appeal_id}/pledges").data.decode()
    assert "lapsed: the pledger&#39;s bank never confirmed the charge" in seen \
        or "lapsed: the pledger's bank never confirmed the charge" in seen
    assert "waits for its pledger" not in seen


def test_a_pledger_who_confirmed_at_the_last_minute_is_charged_not_lapsed(
        app, donor, appeal, client, db, runner, gateway):
    pledge_a_3ds_card(donor, client, db)
    close(runner)
    pledge, charge = the_pledge(db)
    # The pledger confirmed with their bank; the webhook has not come yet.
    link = path_of(link_in(to_dana(app)[1]))
    page = client.get(link)
    started = post_json(client, link + "/start", page.data).get_json()
    assert started["status"] == "requires_action"
    assert support.authenticate_3ds(donor.localstripe, started["client_secret"],
                                    True)["status"] == "succeeded"
    intent = charge.intent_id
    assert gateway.retrieve(intent).status == states.SUCCEEDED
    asked_days_ago(db, app.config["PLEDGE_LAPSE_AFTER_DAYS"] + 1)
    out = close(runner)
    assert f"pledge {pledge.id}: not lapsed: the charge is succeeded" in out
    pledge, charge = the_pledge(db)
    assert pledge.status == "closed" and matched_by_pledges(db) == 3000
    assert LAPSED not in [m.subject for m in to_dana(app)]
