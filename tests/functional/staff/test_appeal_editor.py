"""The appeal editor: Markdown preview, hero image checked by content, co-signers."""

import io
import os

from PIL import Image
from sqlalchemy import select

from fundraiser.appeals.models import Appeal
from fundraiser.staff.models import AuditEvent

FORM = {"slug": "new-appeal", "title": "Bread and roses", "summary": "Short summary",
        "language": "en", "currency": "USD", "goal": "5000", "suggested": "10, 25, 50",
        "ends_on": "2027-01-31", "status": "draft", "hero_alt": "A crowd", "hero_credit": "",
        "story_md": "We **march**.\n\n<script>alert(1)</script>",
        "cosigners": "Union A | Israel | https://a.example\nGroup B | | \nGroup C | France |"}


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


def test_an_editor_creates_publishes_and_reorders_an_appeal(app, db, staff_client, client):
    editor = staff_client("editor")
    data = {**FORM, "submit": "1", "hero": (png(), "hero.png")}
    response = editor.post("/staff/appeals/new", data, content_type="multipart/form-data")
    assert response.status_code == 303, response.data[:3000]
    db.session.rollback()
    appeal = db.session.scalar(select(Appeal))
    try:
        assert (appeal.title, appeal.goal_minor, appeal.suggested_amounts) == \
            ("Bread and roses", 500000, "1000,2500,5000")
        assert [c.name for c in appeal.cosigners] == ["Union A", "Group B", "Group C"]
        assert appeal.ends_at.date().isoformat() == "2027-01-31"
        assert appeal.hero_image.startswith("uploads/") and appeal.hero_image.endswith(".jpg")
        path = os.path.join(app.static_folder, appeal.hero_image)
        with Image.open(path) as stored:
            assert stored.format == "JPEG" and stored.size == (1600, 800)
        assert client.get(f"/appeals/{appeal.slug}").status_code == 404  # still a draft
        # Publish, and move Group C to the top.
        edit = {**FORM, "submit": "1", "status": "published",
                "cosigners": "Group C | France |\nUnion A | Israel | https://a.example"}
        response = editor.post(f"/staff/appeals/{appeal.id}/edit", edit,
                               content_type="multipart/form-data")
        assert response.status_code == 303
        db.session.rollback()
        appeal = db.session.get(Appeal, appeal.id)
        assert appeal.status == "published" and appeal.hero_image  # image kept
        assert [c.name for c in appeal.cosigners] == ["Group C", "Union A"]
        public = client.get(f"/appeals/{appeal.slug}")
        assert public.status_code == 200 and b"Bread and roses" in public.data
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.target_type == "appeal").order_by(AuditEvent.id)).all()
        assert actions == ["appeal.created", "appeal.updated"]
    finally:
        if appeal and appeal.hero_image:
            os.remove(os.path.join(app.static_folder, appeal.hero_image))


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
