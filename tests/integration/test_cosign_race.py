"""Co-sign requests under real concurrency (SQLite, and PostgreSQL when
DATABASE_URL is set): eight requests for one organisation at once (same
name, or same address) → one row; its link, opened by eight requests at
once, confirms it once; two staff approving at once list it once."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from fundraiser.appeals import cosign
from fundraiser.appeals.models import Appeal, Cosigner, CosignRequest
from tests.factories import create_appeal
from tests.integration.test_receipt_numbers import in_threads

WEEK = timedelta(days=7)


def _count(db, model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_eight_requests_for_one_organisation_at_once_make_one_row(app, db):
    appeal_id = create_appeal(db.session, signatures=(True, None)).id
    db.session.commit()
    tokens = []

    def ask(i):
        # half by the same name (another case), half by the same address
        name = "Bakers for Peace" if i % 2 else "BAKERS  for peace"
        email = f"person{i}@bakers.example.org" if i % 2 else "office@bakers.example.org"
        asked = cosign.ask(db.session, db.session.get(Appeal, appeal_id), name=name,
                           email=email)
        tokens.append(asked.token)

    assert in_threads(app, db, ask, list(range(8))) == []
    assert _count(db, CosignRequest) == 1
    confirmed = []

    def confirm(token):
        if token and cosign.confirm(db.session, token, WEEK) is not None:
            confirmed.append(token)

    assert in_threads(app, db, confirm, tokens) == []
    assert len(confirmed) == 1
    assert db.session.scalar(select(CosignRequest.status)) == "waiting"


def test_two_approvals_at_once_list_the_organisation_once(app, db):
    appeal = create_appeal(db.session, signatures=(True, None))
    token = cosign.ask(db.session, appeal, name="Bakers for Peace",
                       email="office@bakers.example.org").token
    row = cosign.confirm(db.session, token, WEEK)
    db.session.commit()
    row_id = row.id
    wins = []

    def approve(who):
        try:
            cosign.approve(db.session, db.session.get(CosignRequest, row_id), who)
            wins.append(who)
        except cosign.CosignError:
            pass

    assert in_threads(app, db, approve, ["a@example.org", "b@example.org"]) == []
    assert len(wins) == 1
    assert _count(db, Cosigner) == 1


def test_a_logo_stored_again_while_its_last_user_is_purged_is_kept(app, db):
    """The hourly purge deletes a forgotten request and its logo while a new
    request uploads the very same bytes (images are shared by digest). The
    new request's logo must exist once both commit: on PostgreSQL the
    upload waits for the purge and stores the bytes anew, instead of
    pointing at the image being deleted (a foreign-key error, a failed ask)."""
    import threading

    from sqlalchemy import update

    from fundraiser.media import services as media
    from fundraiser.media.models import StoredImage
    from fundraiser.payments.models import utcnow
    from tests.functional.staff.test_cosign_requests import png

    logo = png().getvalue()
    appeal_id = create_appeal(db.session, signatures=(True, None)).id
    first = cosign.ask(db.session, db.session.get(Appeal, appeal_id), name="Forgotten Org",
                       email="gone@example.org",
                       logo=media.store_upload(db.session, io.BytesIO(logo), media.LOGO))
    db.session.execute(update(CosignRequest).where(CosignRequest.id == first.request_id)
                       .values(link_sent_at=utcnow() - 60 * WEEK))
    db.session.commit()
    db.session.remove()
    purged, release, errors, kept = threading.Event(), threading.Event(), [], []

    def purge():
        with app.app_context():
            try:
                assert cosign.purge(db.session, utcnow() - WEEK)
                purged.set()
                assert release.wait(30)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 — reported below
                errors.append(repr(exc))
                purged.set()
            finally:
                db.session.remove()

    def upload():
        with app.app_context():
            try:
                # as the ask form does: the upload first, then the request
                image = media.store_upload(db.session, io.BytesIO(logo), media.LOGO)
                cosign.ask(db.session, db.session.get(Appeal, appeal_id), name="New Org",
                           email="new@example.org", logo=image)
                db.session.commit()
                kept.append(image.id)
            except Exception as exc:  # noqa: BLE001 — reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    purging = threading.Thread(target=purge)
    purging.start()
    assert purged.wait(30)
    uploading = threading.Thread(target=upload)
    uploading.start()
    uploading.join(0.5)  # it waits for the purge (PostgreSQL: the image's row; SQLite: the file)
    release.set()
    purging.join(30)
    uploading.join(30)
    assert errors == []
    [logo_id] = kept
    db.session.rollback()
    assert db.session.get(StoredImage, logo_id) is not None
    assert db.session.scalar(select(CosignRequest.logo_id)
                             .where(CosignRequest.name == "New Org")) == logo_id
    assert [r.name for r in db.session.scalars(select(CosignRequest))] == ["New Org"]


def test_a_refused_insert_that_is_not_a_duplicate_raises_the_databases_error(
        app, db, monkeypatch):
    """When the insert fails and no request of that name or address turns up,
    the database's own error is raised (the log names the constraint), not
    an IndexError from looking for the request that won."""
    appeal = create_appeal(db.session, signatures=(True, None))
    cosign.ask(db.session, appeal, name="Bakers for Peace", email="office@bakers.example.org")
    db.session.commit()
    monkeypatch.setattr(cosign, "_matching", lambda *args: [])  # the winner is not found
    with pytest.raises(IntegrityError):
        cosign.ask(db.session, appeal, name="Bakers for Peace",
                   email="office@bakers.example.org")
