"""Organisations ask to co-sign a sign-on appeal (issue 19): the public form
(with a logo checked and re-encoded), the emailed link, the staff queue that
approves (the organisation is listed, with its logo, at once) or declines
with a reason; duplicates merge; hostile input changes nothing. Both databases."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from fundraiser.appeals.models import Cosigner, CosignRequest
from fundraiser.media.models import StoredImage
from fundraiser.payments.models import utcnow
from fundraiser.staff.models import AuditEvent
from tests import support
from tests.factories import create_appeal
from tests.functional.staff.test_image_bombs import huge_png

LINK = re.compile(r"(/cosign/confirm/[A-Za-z0-9_-]+)")
FORM = {"name": "Bakers for Peace", "country": "Chile", "url": "https://bakers.example.org",
        "email": "office@bakers.example.org", "consent": "y"}


@pytest.fixture
def petition(db):
    appeal = create_appeal(db.session, slug="test-appeal", signatures=(True, 500))
    db.session.commit()
    return appeal


def csrf(client, url="/appeals/test-appeal/cosign") -> str:
    return support.form_token(client, client.get(url))


def png(size=(60, 30), colour=(200, 30, 30, 255), exif=False) -> io.BytesIO:
    out = io.BytesIO()
    image = Image.new("RGBA", size, colour)
    if exif:
        data = image.getexif()
        data[0x010E] = "secret description"  # ImageDescription
        image.convert("RGB").save(out, "JPEG", exif=data)
    else:
        image.save(out, "PNG")
    out.seek(0)
    return out


def ask(client, slug="test-appeal", logo=None, **fields):
    data = {**FORM, **fields}
    data = {k: v for k, v in data.items() if v is not None}
    if logo is not None:
        data["logo"] = logo
    return client.post(f"/appeals/{slug}/cosign", data={"csrf_token": csrf(client), **data},
                       content_type="multipart/form-data")


def links(app):
    outbox = getattr(app.extensions["mailman"], "outbox", [])
    return [LINK.search(m.body).group(1) for m in outbox if "/cosign/confirm/" in m.body]


def confirm(client, path):
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf_token": csrf(client, path)})


def requests_(db):
    db.session.rollback()
    return db.session.scalars(select(CosignRequest).order_by(CosignRequest.id)).all()


def count(db, model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def asked_and_confirmed(app, client, db, **fields):
    assert ask(client, logo=(png(), "logo.png"), **fields).status_code == 303
    assert confirm(client, links(app)[-1]).status_code == 200
    return requests_(db)[-1]


def test_an_organisation_is_listed_only_once_staff_approve_it(
        app, client, db, petition, staff_client):
    form = client.get("/appeals/test-appeal/cosign")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    assert "Ask to be listed" in client.get("/appeals/test-appeal").text
    answer = ask(client, logo=(png(exif=True), "logo.jpg"))
    assert answer.status_code == 303
    assert "Check your inbox" in client.get(answer.headers["Location"]).text
    [row] = requests_(db)
    assert row.status == "unconfirmed" and row.logo is not None
    # The stored logo is a re-encoded PNG: the JPEG's metadata is gone.
    stored = db.session.get(StoredImage, row.logo_id)
    assert stored.content_type == "image/png" and b"secret description" not in stored.data
    assert b"Exif" not in stored.data
    # Neither unconfirmed nor confirmed requests are shown on the appeal.
    assert "Bakers for Peace" not in client.get("/appeals/test-appeal").text
    [path] = links(app)
    assert confirm(client, path).status_code == 200
    assert requests_(db)[0].status == "waiting"
    assert "Bakers for Peace" not in client.get("/appeals/test-appeal").text
    assert count(db, Cosigner) == 0

    editor = staff_client("editor")
    queue = editor.get(f"/staff/appeals/{petition.id}/cosign-requests")
    assert queue.status_code == 200 and "Bakers for Peace" in queue.text
    assert "office@bakers.example.org" in queue.text
    approved = editor.post(
        f"/staff/appeals/{petition.id}/cosign-requests/{row.id}/approve", {})
    assert approved.status_code == 303
    [cosigner] = db.session.scalars(select(Cosigner)).all()
    assert (cosigner.name, cosigner.country, cosigner.url) == (
        "Bakers for Peace", "Chile", "https://bakers.example.org")
    assert cosigner.logo_id == row.logo_id
    page = client.get("/appeals/test-appeal").text
    assert "Bakers for Peace" in page and f"/media/{stored.digest}.png" in page
    assert 'href="https://bakers.example.org"' in page
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "cosign_request.approved"))
    assert event.actor_email == "editor@example.org"
    assert json.loads(event.details)["name"] == "Bakers for Peace"
    # Approving twice does not list it twice.
    again = editor.post(f"/staff/appeals/{petition.id}/cosign-requests/{row.id}/approve", {})
    assert again.status_code == 303
    assert count(db, Cosigner) == 1
    assert "was not approved" in editor.get(again.headers["Location"]).text


@pytest.fixture
def cached(app, monkeypatch):
    """The `app` fixture caches nothing (PUBLIC_CACHE_SECONDS=0): give it a
    cache for an hour, so that a page not dropped on approval would show."""
    from cachelib import SimpleCache

    from fundraiser.cache import PublicCache

    monkeypatch.setitem(app.extensions, "fundraiser.public_cache",
                        PublicCache(SimpleCache(), 3600))


def test_approval_drops_the_cached_appeal_page(app, client, db, petition, staff_client, cached):
    editor = staff_client("editor")
    assert "Bakers for Peace" not in client.get("/appeals/test-appeal").text  # cached now
    row = asked_and_confirmed(app, client, db)
    editor.post(f"/staff/appeals/{petition.id}/cosign-requests/{row.id}/approve", {})
    page = client.get("/appeals/test-appeal").text
    assert "Bakers for Peace" in page
    assert client.get("/api/v1/appeals/test-appeal").status_code == 200


def test_a_decline_needs_a_reason_and_lists_nothing(app, client, db, petition, staff_client):
    row = asked_and_confirmed(app, client, db)
    editor = staff_client("editor")
    url = f"/staff/appeals/{petition.id}/cosign-requests/{row.id}/decline"
    missing = editor.post(url, {"reason": "  "})
    assert missing.status_code == 422 and "Give a reason" in missing.text
    assert 'aria-invalid="true"' in missing.text
    too_long = editor.post(url, {"reason": "x" * 501})
    assert too_long.status_code == 422
    assert requests_(db)[0].status == "waiting"
    done = editor.post(url, {"reason": "Not a real organisation"})
    assert done.status_code == 303
    row = requests_(db)[0]
    assert (row.status, row.decline_reason) == ("declined", "Not a real organisation")
    assert count(db, Cosigner) == 0
    assert "Bakers for Peace" not in client.get("/appeals/test-appeal").text
    declined = editor.get(f"/staff/appeals/{petition.id}/cosign-requests?status=declined")
    assert "Not a real organisation" in declined.text
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "cosign_request.declined"))
    assert event.target_id == str(row.id)
    assert json.loads(event.details)["reason"] == "Not a real organisation"
    # Declined stays declined: approving it now does nothing.
    editor.post(f"/staff/appeals/{petition.id}/cosign-requests/{row.id}/approve", {})
    assert count(db, Cosigner) == 0


def test_an_unconfirmed_request_cannot_be_approved(app, client, db, petition, staff_client):
    assert ask(client).status_code == 303
    [row] = requests_(db)
    editor = staff_client("editor")
    editor.post(f"/staff/appeals/{petition.id}/cosign-requests/{row.id}/approve", {})
    assert count(db, Cosigner) == 0 and requests_(db)[0].status == "unconfirmed"


def test_another_appeals_request_id_is_not_found(app, client, db, petition, staff_client):
    other = create_appeal(db.session, slug="other-appeal", signatures=(True, None))
    db.session.commit()
    row = asked_and_confirmed(app, client, db)
    editor = staff_client("editor")
    for action in ("approve", "decline"):
        response = editor.post(f"/staff/appeals/{other.id}/cosign-requests/{row.id}/{action}",
                               {"reason": "spam"})
        assert response.status_code == 404
    assert editor.post(f"/staff/appeals/{petition.id}/cosign-requests/99999/approve",
                       {}).status_code == 404
    assert requests_(db)[0].status == "waiting" and count(db, Cosigner) == 0


def test_asking_twice_by_name_or_email_merges(app, client, db, petition, staff_client):
    assert ask(client).status_code == 303
    # Same name, other case and spacing, new address: the unconfirmed row takes it.
    assert ask(client, name="  bakers   FOR peace ", email="new@bakers.example.org",
               country="Peru").status_code == 303
    [row] = requests_(db)
    assert (row.email, row.country) == ("new@bakers.example.org", "Peru")
    first, second = links(app)
    assert client.get(first).status_code == 404        # the older link stopped working
    assert confirm(client, second).status_code == 200
    # Confirmed now: asking again (same email, other name) changes nothing, sends nothing.
    images = count(db, StoredImage)
    assert ask(client, name="Someone Else", email="new@bakers.example.org",
               logo=(png(colour=(1, 2, 3, 255)), "other.png")).status_code == 303
    assert count(db, StoredImage) == images           # no logo kept for a closed request
    [row] = requests_(db)
    assert (row.name, row.status) == ("  bakers   FOR peace ".strip(), "waiting")
    assert len(links(app)) == 2
    editor = staff_client("editor")
    editor.post(f"/staff/appeals/{petition.id}/cosign-requests/{row.id}/approve", {})
    page = client.get("/appeals/test-appeal").text
    assert page.count("bakers   FOR peace") == 1


def test_approving_an_organisation_staff_already_listed_does_not_list_it_twice(
        app, client, db, petition, staff_client):
    editor = staff_client("editor")
    editor.post(f"/staff/appeals/{petition.id}/cosigners", {"name": "Bakers for Peace"})
    row = asked_and_confirmed(app, client, db)
    editor.post(f"/staff/appeals/{petition.id}/cosign-requests/{row.id}/approve", {})
    [cosigner] = db.session.scalars(select(Cosigner)).all()
    assert cosigner.url == "https://bakers.example.org" and cosigner.logo_id == row.logo_id
    assert client.get("/appeals/test-appeal").text.count(">Bakers for Peace<") == 1


@pytest.mark.parametrize("fields, message", [
    ({"url": "javascript:alert(1)"}, "starting with https://"),
    ({"url": "data:text/html,hi"}, "starting with https://"),
    ({"url": "ftp://bakers.example.org"}, "starting with https://"),
    ({"url": "https://"}, "starting with https://"),
    ({"url": "https://" + "a" * 500 + ".org"}, "At most 500 characters"),
    ({"name": "x" * 201}, "At most 200 characters"),
    ({"name": ""}, "Please give the organisation"),
    ({"name": "Bakers\u202efor"}, "characters that cannot be shown"),
    ({"country": "c" * 81}, "At most 80 characters"),
    ({"email": "not-an-address"}, "does not look like an email"),
    ({"email": "a" * 250 + "@example.org"}, "too long"),
    ({"consent": None}, "agrees to be listed"),
])
def test_hostile_or_missing_fields_are_refused_beside_the_field(
        app, client, db, petition, fields, message):
    response = ask(client, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert requests_(db) == [] and links(app) == []


@pytest.mark.parametrize("content, name, message", [
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>", "logo.png",
     "not a PNG, JPEG or WebP"),
    (b"GIF89a" + b"\0" * 100, "logo.gif", "not a PNG, JPEG or WebP"),
    (b"%PDF-1.4 not an image", "logo.png", "not a PNG, JPEG or WebP"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024), "big.png", "larger than 1 MB"),
])
def test_a_logo_that_is_not_a_small_image_is_refused(
        app, client, db, petition, content, name, message):
    response = ask(client, logo=(io.BytesIO(content), name))
    assert response.status_code == 422 and message in response.text
    assert requests_(db) == [] and count(db, StoredImage) == 0 and links(app) == []


def test_a_huge_dimension_logo_is_refused_before_decoding(app, client, db, petition):
    bomb = huge_png(6300, 6300)
    assert len(bomb.getvalue()) < 1024 * 1024  # under the byte limit: pixels decide
    response = ask(client, logo=(bomb, "bomb.png"))
    assert response.status_code == 422 and "too many pixels" in response.text
    assert requests_(db) == [] and count(db, StoredImage) == 0


def test_a_big_logo_is_shrunk_and_kept_transparent(app, client, db, petition):
    assert ask(client, logo=(png((1200, 600), (0, 0, 0, 0)), "l.png")).status_code == 303
    image = db.session.get(StoredImage, requests_(db)[0].logo_id)
    assert (image.width, image.height) == (400, 200)
    assert Image.open(io.BytesIO(image.data)).mode == "RGBA"


def test_appeals_that_do_not_ask_signatures_take_no_requests(app, client, db):
    create_appeal(db.session, slug="plain")
    db.session.commit()
    assert client.get("/appeals/plain/cosign").status_code == 404
    assert "Ask to be listed" not in client.get("/appeals/plain").text


def test_an_expired_request_link_offers_a_new_one(app, client, db, petition):
    assert ask(client).status_code == 303
    [path] = links(app)
    db.session.execute(update(CosignRequest).values(link_sent_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    page = client.get(path)
    assert page.status_code == 410 and "This link has expired" in page.text
    refused = client.post(path, data={"csrf_token": csrf(client, "/appeals/test-appeal")})
    assert refused.status_code == 410 and requests_(db)[0].status == "unconfirmed"
    token = path.rsplit("/", 1)[1]
    renewed = client.post(f"/cosign/renew/{token}",
                          data={"csrf_token": csrf(client, "/appeals/test-appeal")})
    assert renewed.status_code == 303
    old, new = links(app)
    assert client.get(old).status_code == 404
    assert confirm(client, new).status_code == 200 and requests_(db)[0].status == "waiting"


def test_asking_is_rate_limited(database_url):
    from tests.conftest import app_with

    with app_with(database_url, RATELIMIT_ENABLED=True, COSIGN_LIMIT_ADDRESS="2 per minute",
                  COSIGN_LIMIT_EMAIL="100 per minute") as app:
        from fundraiser.extensions import db, limiter

        limiter.reset()
        create_appeal(db.session, signatures=(True, None))
        db.session.commit()
        client = app.test_client()
        for i in range(2):
            assert ask(client, name=f"Org {i}", email=f"o{i}@example.org").status_code == 303
        refused = ask(client, name="Org 9", email="o9@example.org")
        assert refused.status_code == 429
        assert "Several requests came from here" in refused.text
        assert len(requests_(db)) == 2


def test_the_hebrew_request_form_is_right_to_left(client, petition):
    page = client.get("/appeals/test-appeal/cosign?lang=he").text
    assert '<html lang="he" dir="rtl">' in page
    assert "Organisation name" not in page and "Ask to co-sign" not in page


@pytest.mark.parametrize("request_limit", [None, 2 * 1024 * 1024])
def test_a_very_large_upload_is_refused_and_changes_nothing(
        app, client, db, petition, monkeypatch, request_limit):
    """The logo's own 1 MB limit answers beside the field; with a request
    limit (MAX_CONTENT_LENGTH) set, Werkzeug refuses the body first (413)."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", request_limit)
    response = ask(client, logo=(io.BytesIO(b"\0" * (3 * 1024 * 1024)), "huge.png"))
    if request_limit:
        assert response.status_code == 413
    else:
        assert response.status_code == 422
        assert "The logo is larger than 1 MB" in response.text
    assert requests_(db) == [] and count(db, StoredImage) == 0 and links(app) == []


def test_erase_my_data_forgets_the_person_who_asked_but_keeps_the_organisation(
        app, client, db, petition):
    from fundraiser.donors import services as donors

    request = asked_and_confirmed(app, client, db)
    email = request.email
    donors.erase(db.session, email)
    db.session.commit()
    [kept] = requests_(db)
    assert kept.name == request.name and kept.status == "waiting"   # the organisation stays
    assert kept.email != email and kept.email.startswith("erased-")
    assert kept.token_hash is None and kept.consent_contact is False
