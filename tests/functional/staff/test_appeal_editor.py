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


# -- amounts and currency (issue 15) ----------------------------------------------------

def field_error(page: str, field: str) -> str:
    """The error shown beside a field (the macro's <p id="<field>-error">)."""
    found = re.search(rf'id="{field}-error"[^>]*>(.*?)</', page, re.S)
    return found[1].strip() if found else ""


def test_the_currency_is_chosen_from_the_known_ones_named_in_the_page_language(
        db, staff_client):
    editor = staff_client("editor")
    page = editor.get("/staff/appeals/new").get_data(as_text=True)
    assert '<option selected value="USD">US Dollar (USD)</option>' in page
    assert "Israeli New Shekel (ILS)" in page
    page = editor.get("/staff/appeals/new?lang=he").get_data(as_text=True)
    assert "שקל חדש (ILS)" in page
    for bad in ("XYZ", "usd ", "", "<b>", "U\x00D"):
        answer = editor.post("/staff/appeals/new", {**FORM, "currency": bad, "submit": "1"})
        assert answer.status_code == 422, bad
    assert db.session.scalar(select(Appeal)) is None


def test_a_goal_or_suggested_amount_past_the_ceiling_is_refused_beside_its_field(
        db, staff_client):
    editor = staff_client("editor")
    answer = editor.post("/staff/appeals/new", {**FORM, "goal": "92233720368547758.07",
                                                "submit": "1"})
    assert answer.status_code == 422
    assert "It can be at most $10,000,000.00" in field_error(answer.get_data(as_text=True),
                                                             "goal")
    answer = editor.post("/staff/appeals/new", {**FORM, "suggested": "10, 20000000",
                                                "submit": "1"})
    assert answer.status_code == 422
    assert "A suggested amount is too large" in field_error(answer.get_data(as_text=True),
                                                           "suggested")
    assert db.session.scalar(select(Appeal)) is None
    assert editor.post("/staff/appeals/new", {**FORM, "goal": "10000000",
                                              "submit": "1"}).status_code == 303


def test_the_currency_is_fixed_once_the_appeal_has_a_gift(db, staff_client):
    from tests.factories import create_donation

    editor = staff_client("editor")
    live = {**FORM, "status": "published", "submit": "1"}
    assert editor.post("/staff/appeals/new", live).status_code == 303
    appeal = db.session.scalar(select(Appeal))
    # No gift yet: the currency may still change.
    assert editor.post(f"/staff/appeals/{appeal.id}/edit",
                       {**live, "currency": "EUR"}).status_code == 303
    db.session.rollback()
    appeal = db.session.get(Appeal, appeal.id)
    create_donation(db.session, appeal)
    db.session.commit()
    page = editor.get(f"/staff/appeals/{appeal.id}/edit").get_data(as_text=True)
    assert "Fixed once the appeal has gifts or match pools." in page
    currency_select = re.search(r'<select[^>]*id="currency".*?</select>', page, re.S).group(0)
    assert "US Dollar (USD)" not in currency_select  # the one currency left to choose
    answer = editor.post(f"/staff/appeals/{appeal.id}/edit", {**live, "currency": "USD"})
    assert answer.status_code == 422
    db.session.rollback()
    assert db.session.get(Appeal, appeal.id).currency == "EUR"


def test_a_hebrew_appeal_is_edited_right_to_left(db, staff_client):
    editor = staff_client("editor")
    assert editor.post("/staff/appeals/new", {**FORM, "language": "he", "title": "לחם ושושנים",
                                              "submit": "1"}).status_code == 303
    appeal = db.session.scalar(select(Appeal))
    page = editor.get(f"/staff/appeals/{appeal.id}/edit").get_data(as_text=True)
    title = re.search(r'<input[^>]*id="title"[^>]*>', page)[0]
    assert 'lang="he"' in title and 'dir="rtl"' in title
    story = re.search(r'<textarea[^>]*id="story_md"[^>]*>', page)[0]
    assert 'dir="rtl"' in story


def test_the_service_keeps_a_locked_currency_too(db):
    import pytest

    from fundraiser.appeals import services as appeals
    from fundraiser.money import Money
    from tests.factories import create_appeal, create_donation

    appeal = create_appeal(db.session)
    create_donation(db.session, appeal)
    with pytest.raises(appeals.AppealError, match="currency locked"):
        appeals.save_appeal(db.session, slug=appeal.slug, title=appeal.title,
                            goal=Money(500000, "ILS"))


def test_the_editor_offers_the_widgets_embed_code(db, staff_client, client):
    editor = staff_client("editor")
    assert editor.post("/staff/appeals/new", {**FORM, "status": "published",
                                              "title": 'Bread & "roses"',
                                              "submit": "1"}).status_code == 303
    appeal = db.session.scalar(select(Appeal))
    page = editor.get(f"/staff/appeals/{appeal.id}/edit").get_data(as_text=True)
    snippet = re.search(r'<textarea id="embed-snippet" readonly[^>]*>([^<]*)</textarea>', page)
    assert snippet, "no embed code on the editor"
    import html

    code = html.unescape(snippet.group(1))
    assert code.startswith('<iframe src="http://127.0.0.1:5000/embed/new-appeal"')
    assert 'title="Bread &amp; &#34;roses&#34;"' in code  # still escaped once pasted
    assert client.get("/embed/new-appeal").status_code == 200


def test_an_editor_turns_on_sign_on_with_a_signature_goal(db, staff_client, client):
    editor = staff_client("editor")
    live = {**FORM, "status": "published", "submit": "1"}
    refused = editor.post("/staff/appeals/new", {**live, "asks_signatures": "y",
                                                 "signature_goal": "0"})
    assert refused.status_code == 422
    assert "Enter a whole number of signatures" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Appeal)) is None
    assert editor.post("/staff/appeals/new", {**live, "asks_signatures": "y",
                                              "signature_goal": "1000"}).status_code == 303
    appeal = db.session.scalar(select(Appeal))
    assert (appeal.asks_signatures, appeal.signature_goal) == (True, 1000)
    assert client.get("/appeals/new-appeal/sign").status_code == 200
    assert "0 of 1,000 signatures" in client.get("/appeals/new-appeal").get_data(as_text=True)
    page = editor.get(f"/staff/appeals/{appeal.id}/edit").get_data(as_text=True)
    assert "checked" in re.search(r'<input[^>]*id="asks_signatures"[^>]*>', page).group(0)
    assert editor.post(f"/staff/appeals/{appeal.id}/edit", live).status_code == 303
    db.session.rollback()
    appeal = db.session.get(Appeal, appeal.id)
    assert (appeal.asks_signatures, appeal.signature_goal) == (False, None)
    assert client.get("/appeals/new-appeal/sign").status_code == 404


def test_the_appeal_list_says_each_status_in_the_staff_language(db, staff_client):
    from tests.factories import create_appeal

    create_appeal(db.session, slug="open-one")
    db.session.commit()
    editor = staff_client("editor")
    page = editor.get("/staff/appeals").get_data(as_text=True)
    assert '<td data-field="status">Published</td>' in page
    page = editor.get("/staff/appeals?lang=he").get_data(as_text=True)
    assert '<td data-field="status">פורסם</td>' in page
