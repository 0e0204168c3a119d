"""Appeal translations: the staff page (original beside the form, preview),
the public page and index in the visitor's interface language, the API
keeping the original title, sanitised Markdown, refused input."""

import re

import pytest
from sqlalchemy import select

from fundraiser.appeals.models import AppealTranslation
from fundraiser.staff.models import AuditEvent
from tests.factories import create_appeal
from tests.functional.staff.conftest import snapshot

HE = {"title": "לחם ושושנים", "summary": "תקציר קצר",
      "story_md": "אנחנו **צועדים** יחד.", "thank_you_md": "תודה רבה!", "submit": "1"}
HEBREW = {"Accept-Language": "he"}
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def appeal(db):
    appeal = create_appeal(db.session, title="Bread and roses", summary="A short summary",
                           story_md="We **march** together.")
    db.session.commit()
    return appeal


def url(appeal, locale="he"):
    return f"/staff/appeals/{appeal.id}/translations/{locale}"


def heading(html: str) -> str:
    return re.search(r'<header class="appeal-header"[^>]*>', html).group(0)


def test_the_staff_page_shows_the_original_beside_the_form(db, appeal, staff_client):
    editor = staff_client("editor")
    first = editor.get(f"/staff/appeals/{appeal.id}/translations")
    # The first interface language that is not the appeal's own (en, fr, de, he, ar).
    assert first.status_code == 302 and first.headers["Location"].endswith(url(appeal, "fr"))
    page = editor.get(url(appeal)).get_data(as_text=True)
    assert "Bread and roses" in page and "<strong>march</strong>" in page  # the original
    assert 'lang="en" dir="ltr"' in page
    title_input = re.search(r'<input[^>]*id="title"[^>]*>', page).group(0)
    assert 'lang="he"' in title_input and 'dir="rtl"' in title_input
    assert re.search(r'<label for="title">', page)


def test_a_hebrew_visitor_reads_the_hebrew_translation_an_english_one_the_original(
        db, appeal, staff_client, client):
    editor = staff_client("editor")
    response = editor.post(url(appeal), HE)
    assert response.status_code == 303, response.data[:3000]
    hebrew = client.get("/appeals/test-appeal", headers=HEBREW).get_data(as_text=True)
    assert 'lang="he" dir="rtl"' in heading(hebrew)
    assert "לחם ושושנים" in hebrew and "<strong>צועדים</strong>" in hebrew
    assert "Bread and roses" not in hebrew and "march" not in hebrew
    assert "<title>לחם ושושנים" in hebrew
    english = client.get("/appeals/test-appeal", headers=ENGLISH).get_data(as_text=True)
    assert 'lang="en" dir="ltr"' in heading(english)
    assert "Bread and roses" in english and "לחם ושושנים" not in english
    # The index too, and the language chosen with the switch (cookie) counts.
    client.get("/lang/he")
    index = client.get("/", headers=ENGLISH).get_data(as_text=True)
    assert re.search(r'<h2 lang="he" dir="rtl"><a href="/appeals/test-appeal">לחם ושושנים</a>',
                     index)
    assert "תקציר קצר" in index
    client.get("/lang/en")
    assert "Bread and roses" in client.get("/").get_data(as_text=True)
    # The JSON API keeps the original title whatever the visitor's language.
    api = client.get("/api/v1/appeals/test-appeal", headers=HEBREW).get_json()
    assert api["title"] == "Bread and roses"
    assert client.get("/api/v1/appeals", headers=HEBREW).get_json()[0]["title"] == \
        "Bread and roses"
    db.session.rollback()
    assert db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.target_type == "appeal")).all() == ["appeal.translation_saved"]


def test_a_hebrew_appeal_translated_into_english(db, staff_client, client):
    appeal = create_appeal(db.session, slug="hebrew", title="קמפיין", language="he")
    db.session.commit()
    editor = staff_client("admin")
    assert editor.get(f"/staff/appeals/{appeal.id}/translations").headers[
        "Location"].endswith(url(appeal, "en"))
    assert editor.get(url(appeal, "he")).status_code == 404  # its own language
    response = editor.post(url(appeal, "en"), {"title": "Campaign", "submit": "1"})
    assert response.status_code == 303
    english = client.get("/appeals/hebrew", headers=ENGLISH).get_data(as_text=True)
    assert 'lang="en" dir="ltr"' in heading(english) and "Campaign" in english
    hebrew = client.get("/appeals/hebrew", headers=HEBREW).get_data(as_text=True)
    assert 'lang="he" dir="rtl"' in heading(hebrew) and "קמפיין" in hebrew


HOSTILE = ("Hello <script>alert(1)</script>\n\n[click](javascript:alert(2)) "
           "<img src=x onerror=alert(3)>\n\n<iframe src=https://evil.example></iframe>")


def test_hostile_markdown_in_a_translation_is_sanitised(db, appeal, staff_client, client):
    editor = staff_client("editor")
    data = {**HE, "title": "<script>alert(4)</script>", "story_md": HOSTILE,
            "thank_you_md": HOSTILE}
    preview = editor.post(url(appeal), {**data, "submit": "", "preview": "1"})
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "<script>alert" not in page and "<iframe" not in page and "<img src=x" not in page
    shown = page.split('id="preview-heading"')[1]  # the form above still holds the source
    assert "Hello" in shown and "href=\"javascript" not in shown
    db.session.rollback()
    assert db.session.scalar(select(AppealTranslation)) is None  # a preview saves nothing
    assert editor.post(url(appeal), data).status_code == 303
    db.session.rollback()
    saved = db.session.scalar(select(AppealTranslation))
    for html in (saved.story_html, saved.thank_you_html):
        assert "<script" not in html and 'href="javascript' not in html
        assert "<img" not in html and "<iframe" not in html
    public = client.get("/appeals/test-appeal", headers=HEBREW).get_data(as_text=True)
    assert "<script>alert" not in public and "&lt;script&gt;alert(4)" in public
    assert 'href="javascript' not in public and "<iframe" not in public
    assert "<img src=x" not in public


@pytest.mark.parametrize("data, message", [
    ({"title": ""}, "This field is required"),
    ({"title": "   "}, "This field is required"),
    ({"title": "x" * 201}, "Field cannot be longer than 200 characters"),
    ({"summary": "x" * 301}, "Field cannot be longer than 300 characters"),
    ({"story_md": "x" * 50_001}, "Field cannot be longer than 50000 characters"),
    ({"thank_you_md": "x" * 10_001}, "Field cannot be longer than 10000 characters"),
])
def test_bad_input_is_refused_and_changes_nothing(db, appeal, staff_client, data, message):
    editor = staff_client("editor")
    before = snapshot(db)
    response = editor.post(url(appeal), {**HE, **data})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text
    assert 'aria-invalid="true"' in text and "-error" in text
    assert snapshot(db) == before


def test_unknown_locales_and_appeals_are_not_found(db, appeal, staff_client):
    editor = staff_client("editor")
    before = snapshot(db)
    for path in (url(appeal, "es"), url(appeal, "en"), url(appeal, "../../x"),
                 f"/staff/appeals/{appeal.id + 99}/translations/he"):
        assert editor.post(path, HE).status_code == 404, path
    assert snapshot(db) == before


def test_saving_again_replaces_and_removing_falls_back_to_the_original(db, appeal,
                                                                      staff_client, client):
    editor = staff_client("editor")
    editor.post(url(appeal), HE)
    editor.post(url(appeal), {**HE, "title": "כותרת חדשה"})
    db.session.rollback()
    assert db.session.scalars(select(AppealTranslation.title)).all() == ["כותרת חדשה"]
    page = editor.get(url(appeal)).get_data(as_text=True)
    assert 'value="כותרת חדשה"' in page  # the form shows what is saved
    assert editor.post(url(appeal) + "/delete").status_code == 303
    db.session.rollback()
    assert db.session.scalar(select(AppealTranslation)) is None
    hebrew = client.get("/appeals/test-appeal", headers=HEBREW).get_data(as_text=True)
    assert "Bread and roses" in hebrew and 'lang="en" dir="ltr"' in heading(hebrew)
    assert db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.target_type == "appeal").order_by(AuditEvent.id)).all() == [
        "appeal.translation_saved", "appeal.translation_saved", "appeal.translation_deleted"]


def test_viewer_and_finance_cannot_translate(db, appeal, staff_client):
    for role in ("viewer", "finance"):
        sc = staff_client(role)
        before = snapshot(db)
        assert sc.get(url(appeal)).status_code == 403
        assert sc.post(url(appeal), HE).status_code == 403
        assert snapshot(db) == before


def test_the_thank_you_page_is_in_the_donors_language_too(db, staff_client, client):
    from fundraiser.payments import services as payments
    from fundraiser.payments import states
    from tests.factories import create_donation

    appeal = create_appeal(db.session, thank_you_md="Thank you, truly.")
    gift = create_donation(db.session, appeal)
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    staff_client("editor").post(url(appeal), {**HE, "thank_you_md": "תודה *מכל* הלב."})
    hebrew = client.get(f"/give/{gift.public_id}/thanks", headers=HEBREW).get_data(as_text=True)
    assert '<div class="story" lang="he" dir="rtl"><p>תודה <em>מכל</em> הלב.</p>' in hebrew
    english = client.get(f"/give/{gift.public_id}/thanks", headers=ENGLISH).get_data(as_text=True)
    assert "Thank you, truly." in english and "מכל" not in english


def test_two_editors_creating_one_translation_at_once_get_a_message(db, appeal, staff_client,
                                                                   monkeypatch):
    from fundraiser.appeals import services as appeal_services

    editor = staff_client("editor")
    assert editor.post(url(appeal), HE).status_code == 303
    # The second editor's request looked before the first one's row existed.
    monkeypatch.setattr(appeal_services, "translation_for", lambda *a, **k: None)
    before = snapshot(db)
    response = editor.post(url(appeal), {**HE, "title": "אחר"})
    assert response.status_code == 422
    assert "Someone else saved this translation" in response.get_data(as_text=True)
    assert snapshot(db) == before


def test_the_shared_page_cache_keeps_each_locale_its_own_text(app, db, appeal, staff_client,
                                                              client):
    from cachelib import SimpleCache

    from fundraiser.cache import PublicCache

    staff_client("editor").post(url(appeal), HE)
    app.extensions["fundraiser.public_cache"] = PublicCache(SimpleCache(), 60)  # as in production
    for _ in range(2):  # rendered once, then served from the cache
        english = client.get("/appeals/test-appeal", headers=ENGLISH).get_data(as_text=True)
        hebrew = client.get("/appeals/test-appeal", headers=HEBREW).get_data(as_text=True)
        assert "Bread and roses" in english
        assert "לחם ושושנים" not in english
        assert 'lang="he" dir="rtl"' in heading(hebrew) and "Bread and roses" not in hebrew
