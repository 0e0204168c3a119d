"""The appeal editor: Markdown preview, hero image checked by content and
kept in the database (served by any app host)."""

import io
import re

from PIL import Image
from sqlalchemy import select

from fundraiser.appeals.models import Appeal
from fundraiser.staff.models import AuditEvent

FORM = {"slug": "new-appeal", "title": "Bread and roses", "summary": "Short summary",
        "language": "en", "currency": "USD", "goal": "5000", "suggested": "10, 25, 50",
        "ends_on": "2027-01-31", "status": "draft", "hero_alt": "A crowd", "hero_credit": "",
        "story_md": "We **march**.\n\n<script>alert(1)</script>"}


def png(width=2000, height=1000):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 90)).save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def test_preview_renders_sanitised_markdown_without_saving(db, staff_client):
    editor = staff_client("editor")
    response = editor.post("/staff/appeals/new", {**FORM, "preview": "1"})
    assert response.status_code == 200
    assert b"<strong>march</strong>" in response.data
    assert b"<script>alert" not in response.data
    assert db.session.scalar(select(Appeal)) is None


def test_an_editor_creates_and_publishes_an_appeal_with_a_hero_image(db, staff_client, client):
    editor = staff_client("editor")
    data = {**FORM, "submit": "1", "hero": (png(), "hero.png")}
    response = editor.post("/staff/appeals/new", data, content_type="multipart/form-data")
    assert response.status_code == 303, response.data[:3000]
    db.session.rollback()
    appeal = db.session.scalar(select(Appeal))
    assert (appeal.title, appeal.goal_minor, appeal.suggested_amounts) == \
        ("Bread and roses", 500000, "1000,2500,5000")
    assert appeal.ends_at.date().isoformat() == "2027-01-31"
    assert client.get(f"/appeals/{appeal.slug}").status_code == 404  # still a draft
    edit = {**FORM, "submit": "1", "status": "published"}
    response = editor.post(f"/staff/appeals/{appeal.id}/edit", edit,
                           content_type="multipart/form-data")
    assert response.status_code == 303
    db.session.rollback()
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.status == "published"
    public = client.get(f"/appeals/{appeal.slug}")
    assert public.status_code == 200 and b"Bread and roses" in public.data
    # The image kept through the edit, served from the database, resized to
    # at most 1600 px, re-encoded as JPEG.
    src = re.search(r'<figure class="hero">\s*<img src="([^"]+)"', public.text)[1]
    served = client.get(src)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert "immutable" in served.headers["Cache-Control"]
    with Image.open(io.BytesIO(served.data)) as stored:
        assert stored.format == "JPEG" and stored.size == (1600, 800)
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.target_type == "appeal").order_by(AuditEvent.id)).all()
    assert actions == ["appeal.created", "appeal.updated"]


def test_the_hero_image_can_be_replaced_and_removed(db, staff_client, client):
    editor = staff_client("editor")
    editor.post("/staff/appeals/new", {**FORM, "submit": "1", "status": "published",
                                       "hero": (png(), "a.png")},
                content_type="multipart/form-data")
    appeal_id = db.session.scalar(select(Appeal.id))
    first = db.session.get(Appeal, appeal_id).hero_image.digest
    editor.post(f"/staff/appeals/{appeal_id}/edit",
                {**FORM, "submit": "1", "status": "published", "hero": (png(800, 400), "b.png")},
                content_type="multipart/form-data")
    db.session.rollback()
    second = db.session.get(Appeal, appeal_id).hero_image
    assert second.digest != first and (second.width, second.height) == (800, 400)
    editor.post(f"/staff/appeals/{appeal_id}/edit",
                {**FORM, "submit": "1", "status": "published", "remove_hero": "y"})
    db.session.rollback()
    assert db.session.get(Appeal, appeal_id).hero_image is None
    assert b'class="hero"' not in client.get("/appeals/new-appeal").data


def test_an_image_address_that_names_nothing_is_not_found(db, client):
    assert client.get("/media/" + "0" * 64 + ".jpg").status_code == 404
    assert client.get("/media/not-a-digest.jpg").status_code == 404
    assert client.get("/media/..%2f..%2fconfig.py").status_code == 404


def test_a_file_that_is_not_an_image_is_refused(db, staff_client):
    editor = staff_client("editor")
    fake = io.BytesIO(b"<?php echo 'hi'; ?>" * 10)
    data = {**FORM, "submit": "1", "hero": (fake, "photo.png")}
    response = editor.post("/staff/appeals/new", data, content_type="multipart/form-data")
    assert response.status_code == 422 and b"not a JPEG, PNG or WebP" in response.data
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    gif.seek(0)
    response = editor.post("/staff/appeals/new", {**FORM, "submit": "1", "hero": (gif, "a.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert db.session.scalar(select(Appeal)) is None


def test_an_address_already_in_use_is_refused(db, staff_client):
    editor = staff_client("editor")
    assert editor.post("/staff/appeals/new", {**FORM, "submit": "1"}).status_code == 303
    again = editor.post("/staff/appeals/new", {**FORM, "submit": "1", "title": "Other"})
    assert again.status_code == 422 and b"already uses this address" in again.data
    db.session.rollback()
    assert db.session.scalar(select(Appeal.title)) == "Bread and roses"


def test_an_image_over_two_megabytes_is_refused(db, staff_client):
    editor = staff_client("editor")
    big = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024 + 10))
    response = editor.post("/staff/appeals/new", {**FORM, "submit": "1",
                                                  "hero": (big, "big.png")},
                           content_type="multipart/form-data")
    # Either the app-wide request limit (413) or the upload check refuses it.
    assert response.status_code in (413, 422)
    assert db.session.scalar(select(Appeal)) is None
