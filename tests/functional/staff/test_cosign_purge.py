"""Co-sign requests whose emailed link is never used do not stay for ever:
once the link has been expired for COSIGN_UNCONFIRMED_GRACE_DAYS they are
deleted with their logo (`flask purge-cosign-requests`, and the scheduler
hourly). Confirmed, approved and declined requests are never deleted; a logo
another row uses too stays. Both databases."""

from __future__ import annotations

from datetime import timedelta

from rq import SimpleWorker
from sqlalchemy import select, update

from fundraiser import jobs
from fundraiser.appeals.models import Cosigner, CosignRequest
from fundraiser.media.models import StoredImage
from fundraiser.payments.models import utcnow
from fundraiser.scheduler import TASKS, Scheduler
from tests.functional.staff.test_cosign_requests import (
    ask,
    asked_and_confirmed,
    confirm,
    links,
    png,
    requests_,
)
from tests.functional.staff.test_cosign_requests import csrf as csrf_token
from tests.functional.staff.test_cosign_requests import petition as petition  # noqa: F401


def age(db, name, days):
    """The request's link was sent `days` ago."""
    db.session.execute(update(CosignRequest).where(CosignRequest.name == name)
                       .values(link_sent_at=utcnow() - timedelta(days=days)))
    db.session.commit()


def images(db):
    db.session.rollback()
    return set(db.session.scalars(select(StoredImage.id)))


def past_grace(app):
    """Days after which an unconfirmed request goes, plus an hour."""
    return (app.config["SIGN_LINK_VALID_DAYS"] + app.config["COSIGN_UNCONFIRMED_GRACE_DAYS"]
            + 1 / 24)


def purge(runner):
    result = runner.invoke(args=["purge-cosign-requests"])
    assert result.exit_code == 0, result.output
    return result.output


def test_only_old_unconfirmed_requests_go_with_their_logo(
        app, client, db, petition, staff_client, runner):  # noqa: F811
    editor = staff_client("editor")
    base = f"/staff/appeals/{petition.id}/cosign-requests"
    # confirmed, then approved / declined / left waiting; all with old links
    approved = asked_and_confirmed(app, client, db, name="Approved Org",
                                   email="a@example.org")
    assert editor.post(f"{base}/{approved.id}/approve", {}).status_code == 303
    declined = asked_and_confirmed(app, client, db, name="Declined Org",
                                   email="d@example.org")
    assert editor.post(f"{base}/{declined.id}/decline",
                       {"reason": "Not real"}).status_code == 303
    asked_and_confirmed(app, client, db, name="Waiting Org", email="w@example.org")
    # never confirmed: one old (with its own logo), one fresh
    assert ask(client, name="Old Org", email="old@example.org",
               logo=(png(colour=(1, 2, 3, 255)), "old.png")).status_code == 303
    assert ask(client, name="Fresh Org", email="fresh@example.org",
               logo=(png(colour=(4, 5, 6, 255)), "fresh.png")).status_code == 303
    rows = {r.name: r for r in requests_(db)}
    old_id, old_logo = rows["Old Org"].id, rows["Old Org"].logo_id
    old_link = links(app)[-2]
    kept_logos = {rows[n].logo_id for n in rows if n != "Old Org"}
    assert old_logo not in kept_logos and len(images(db)) == 3  # the others share png()
    for name in ("Approved Org", "Declined Org", "Waiting Org", "Old Org"):
        age(db, name, past_grace(app))

    out = purge(runner)
    assert f"co-sign request {old_id}: never confirmed, deleted" in out
    assert "1 unconfirmed co-sign request(s) deleted" in out
    left = {r.name: r.status for r in requests_(db)}
    assert left == {"Approved Org": "approved", "Declined Org": "declined",
                    "Waiting Org": "waiting", "Fresh Org": "unconfirmed"}
    assert images(db) == kept_logos                      # its logo went, no other did
    assert client.get(old_link).status_code == 404       # its link names nothing now
    assert "Approved Org" in client.get("/appeals/test-appeal").text

    # Twice: nothing more goes, nothing breaks.
    assert "0 unconfirmed co-sign request(s) deleted" in purge(runner)
    assert len(requests_(db)) == 4 and images(db) == kept_logos
    # The fresh one still confirms.
    assert confirm(client, links(app)[-1]).status_code == 200
    assert {r.name: r.status for r in requests_(db)}["Fresh Org"] == "waiting"


def test_within_the_grace_period_the_link_can_still_be_renewed(
        app, client, db, petition, runner):  # noqa: F811
    assert ask(client, logo=(png(), "logo.png")).status_code == 303
    [path] = links(app)
    age(db, "Bakers for Peace", past_grace(app) - 1)     # expired, not yet a purge
    assert "0 unconfirmed" in purge(runner)
    assert client.get(path).status_code == 410           # "expired, send me a new link"
    token = path.rsplit("/", 1)[1]
    renewed = client.post(f"/cosign/renew/{token}",
                          data={"csrf_token": csrf_token(client, "/appeals/test-appeal")})
    assert renewed.status_code == 303
    # A renewed link counts from when it was sent: a later purge keeps it.
    age(db, "Bakers for Peace", 0)
    db.session.execute(update(CosignRequest).values(
        created_at=utcnow() - timedelta(days=60)))
    db.session.commit()
    assert "0 unconfirmed" in purge(runner)
    assert confirm(client, links(app)[-1]).status_code == 200


def test_a_logo_another_row_uses_stays(app, client, db, petition, staff_client,
                                       runner):  # noqa: F811
    # The same bytes: one stored image shared by an approved co-signer and a
    # request nobody confirmed.
    approved = asked_and_confirmed(app, client, db)
    staff_client("editor").post(
        f"/staff/appeals/{petition.id}/cosign-requests/{approved.id}/approve", {})
    assert ask(client, name="Copycat", email="copy@example.org",
               logo=(png(), "logo.png")).status_code == 303
    copy = {r.name: r for r in requests_(db)}["Copycat"]
    assert copy.logo_id == approved.logo_id
    age(db, "Copycat", past_grace(app))
    assert "1 unconfirmed" in purge(runner)
    assert [r.name for r in requests_(db)] == ["Bakers for Peace"]
    [cosigner] = db.session.scalars(select(Cosigner)).all()
    assert images(db) == {cosigner.logo_id}
    digest = db.session.get(StoredImage, cosigner.logo_id).digest
    assert client.get(f"/media/{digest}.png").status_code == 200


def test_the_scheduler_purges_hourly_when_there_is_something_to_purge(
        queued_app, redis_jobs):
    from fundraiser.extensions import db
    from tests.factories import create_appeal

    assert "purge-cosign-requests" in {t.name for t in TASKS}
    appeal = create_appeal(db.session, signatures=(True, None))
    db.session.add(CosignRequest(appeal_id=appeal.id, name="Gone Org", name_key="gone org",
                                 email="gone@example.org", status="unconfirmed",
                                 link_sent_at=utcnow() - timedelta(days=30)))
    db.session.commit()
    t0 = 1_900_000_000.0
    scheduler = Scheduler(redis_jobs)
    assert "purge-cosign-requests" in scheduler.tick(now=t0)
    db.session.rollback()
    queue = jobs.queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    db.session.rollback()
    assert db.session.scalars(select(CosignRequest)).all() == []
    # Nothing left to purge: an hour later nothing is queued for it.
    assert "purge-cosign-requests" not in scheduler.tick(now=t0 + 3601)
