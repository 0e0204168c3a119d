"""Co-signers in the appeal editor: add one with a logo or many at once,
edit, reorder, remove; bad input is refused with a message and changes
nothing; the appeal page shows the list in its order, logos included."""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from fundraiser.appeals import services as appeals
from fundraiser.appeals.models import Appeal, Cosigner
from fundraiser.staff.models import AuditEvent
from tests.factories import create_appeal
from tests.functional.staff.conftest import snapshot


@pytest.fixture
def appeal(db):
    row = create_appeal(db.session, slug="joint-statement", title="Joint statement")
    db.session.commit()
    return row


@pytest.fixture
def editor(staff_client):
    return staff_client("editor")


def logo_png(width=1000, height=500, transparent=True):
    buffer = io.BytesIO()
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0) if transparent else "white")
    image.paste((200, 30, 30, 255), (width // 4, height // 4, width // 2, height // 2))
    image.save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def names(db, appeal_id):
    db.session.rollback()
    return db.session.scalars(select(Cosigner.name).where(Cosigner.appeal_id == appeal_id)
                              .order_by(Cosigner.position)).all()


def positions(db, appeal_id):
    return db.session.scalars(select(Cosigner.position).where(
        Cosigner.appeal_id == appeal_id).order_by(Cosigner.position)).all()


def audit_actions(db):
    return db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("cosigner.%")).order_by(AuditEvent.id)).all()


def add_many(editor, appeal, lines):
    return editor.post(f"/staff/appeals/{appeal.id}/cosigners/bulk", {"lines": lines})


def test_a_co_signer_with_a_logo_appears_on_the_appeal_page(db, editor, client, appeal):
    response = editor.post(f"/staff/appeals/{appeal.id}/cosigners",
                           {"name": "Teachers for Tomorrow", "country": "Chile",
                            "url": "https://teachers.example", "logo": (logo_png(), "l.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.data[:2000]
    db.session.rollback()
    cosigner = db.session.scalar(select(Cosigner))
    assert (cosigner.name, cosigner.country, cosigner.url) == \
        ("Teachers for Tomorrow", "Chile", "https://teachers.example")
    page = client.get("/appeals/joint-statement").text
    assert "Signed by 1 organisations" in page
    assert '<a href="https://teachers.example"' in page and "Teachers for Tomorrow" in page
    src = re.search(r'<img class="cosigner-logo" src="([^"]+)" alt=""', page)[1]
    served = client.get(src)
    assert served.status_code == 200 and served.mimetype == "image/png"
    with Image.open(io.BytesIO(served.data)) as logo:
        # shrunk to 400 px, the transparent background kept
        assert logo.size == (400, 200) and logo.mode == "RGBA"
        assert logo.getpixel((0, 0))[3] == 0
    assert audit_actions(db) == ["cosigner.added"]


def test_many_at_once_then_reordered_edited_and_removed(db, editor, client, appeal):
    response = add_many(editor, appeal, "Union A | Israel | https://a.example\n\n"
                                        "Group B\nGroup C | France |\nGroup D")
    assert response.status_code == 303
    assert names(db, appeal.id) == ["Union A", "Group B", "Group C", "Group D"]
    ids = {c.name: c.id for c in db.session.scalars(select(Cosigner))}

    def move(name, to):
        url = f"/staff/appeals/{appeal.id}/cosigners/{ids[name]}/move"
        assert editor.post(url, {"to": to}).status_code == 303

    move("Group C", "top")
    assert names(db, appeal.id) == ["Group C", "Union A", "Group B", "Group D"]
    move("Group C", "down")
    move("Group D", "up")
    assert names(db, appeal.id) == ["Union A", "Group C", "Group D", "Group B"]
    move("Union A", "bottom")
    move("Union A", "bottom")   # already last: nothing changes, nothing audited
    assert names(db, appeal.id) == ["Group C", "Group D", "Group B", "Union A"]
    # Edit a name and put it second by its position field.
    response = editor.post(f"/staff/appeals/{appeal.id}/cosigners/{ids['Group B']}",
                           {"name": "Group B of Haifa", "country": "Israel", "url": "",
                            "position": "1"})
    assert response.status_code == 303
    assert names(db, appeal.id) == ["Group B of Haifa", "Group C", "Group D", "Union A"]
    response = editor.post(f"/staff/appeals/{appeal.id}/cosigners/{ids['Group C']}/delete")
    assert response.status_code == 303
    assert names(db, appeal.id) == ["Group B of Haifa", "Group D", "Union A"]
    assert positions(db, appeal.id) == [0, 1, 2]
    page = client.get("/appeals/joint-statement").text
    section = page[page.index('<section class="cosigners"'):]
    shown = re.findall(r"<li>(?:<a [^>]+>)?<bdi>([^<]+)</bdi>", section)
    assert shown[:3] == ["Group B of Haifa", "Group D", "Union A"]
    assert audit_actions(db) == ["cosigner.added"] + ["cosigner.moved"] * 4 + \
        ["cosigner.updated", "cosigner.removed"]


def test_a_logo_is_replaced_and_removed(db, editor, appeal):
    add_many(editor, appeal, "Group A")
    cosigner_id = db.session.scalar(select(Cosigner.id))
    url = f"/staff/appeals/{appeal.id}/cosigners/{cosigner_id}"
    form = {"name": "Group A", "country": "", "url": ""}
    editor.post(url, {**form, "logo": (logo_png(300, 300), "a.png")},
                content_type="multipart/form-data")
    db.session.rollback()
    assert db.session.get(Cosigner, cosigner_id).logo.width == 300
    assert editor.post(url, form).status_code == 303   # no file: the logo stays
    db.session.rollback()
    assert db.session.get(Cosigner, cosigner_id).logo is not None
    editor.post(url, {**form, "remove_logo": "y"})
    db.session.rollback()
    assert db.session.get(Cosigner, cosigner_id).logo is None
    assert audit_actions(db) == ["cosigner.added", "cosigner.updated", "cosigner.updated"]


def test_saving_without_a_change_says_so_and_audits_nothing(db, editor, appeal):
    add_many(editor, appeal, "Group A | Peru")
    cosigner_id = db.session.scalar(select(Cosigner.id))
    response = editor.post(f"/staff/appeals/{appeal.id}/cosigners/{cosigner_id}",
                           {"name": "Group A", "country": "Peru", "url": "", "position": "1"},
                           follow_redirects=True)
    assert "Nothing changed." in response.text
    assert audit_actions(db) == ["cosigner.added"]


BAD_ONE = [
    ({"name": ""}, "This field is required"),
    ({"name": "   "}, "This field is required"),
    ({"name": "x" * 201}, "Field cannot be longer than 200"),
    ({"name": "Good", "country": "y" * 81}, "Field cannot be longer than 80"),
    ({"name": "Evil\u202eCorp"}, "invisible control characters"),
    ({"name": "Tab\tname"}, "invisible control characters"),
    ({"name": "Good", "url": "javascript:alert(1)"}, "must start with https://"),
    ({"name": "Good", "url": "https://"}, "must start with https://"),
    ({"name": "Good", "url": "example.org"}, "must start with https://"),
    ({"name": "Good", "url": "https://exa mple.org"}, "must start with https://"),
    ({"name": "Good", "logo": (b"<svg onload='alert(1)'></svg>", "l.svg")},
     "not a JPEG, PNG or WebP"),
    ({"name": "Good", "logo": (b"GIF89a" + b"\0" * 50, "l.png")}, "not a JPEG, PNG or WebP"),
    ({"name": "Good", "logo": (b"", "empty.png")}, "not a JPEG, PNG or WebP"),
    ({"name": "Good", "logo": (b"", "")}, None),   # no file chosen: added without a logo

]


@pytest.mark.parametrize("data, message", BAD_ONE)
def test_a_bad_co_signer_is_refused_with_a_message(db, editor, appeal, data, message):
    add_many(editor, appeal, "Already here")
    before = snapshot(db)
    data = {"country": "", "url": "", **data}
    if "logo" in data:    # a fresh file for each run
        data["logo"] = (io.BytesIO(data["logo"][0]), data["logo"][1])
    response = editor.post(f"/staff/appeals/{appeal.id}/cosigners", data,
                           content_type="multipart/form-data")
    if message is None:
        assert response.status_code == 303
        return
    assert response.status_code == 422
    assert message in response.text
    assert snapshot(db) == before


@pytest.mark.parametrize("lines, message", [
    ("Good one\nGood two\nBad | x | ftp://example.org", "Line 3: Web addresses"),
    ("Good one\nA | B | C | D", "Line 2: Use at most two"),
    ("Good\n" + "n" * 201, "Line 2: Shorten the text"),
    ("", "This field is required"),
    ("\n \n", "This field is required"),
])
def test_a_bad_line_adds_none_of_the_lines(db, editor, appeal, lines, message):
    before = snapshot(db)
    response = add_many(editor, appeal, lines)
    assert response.status_code == 422 and message in response.text
    assert snapshot(db) == before


def test_an_editor_cannot_go_past_the_limit(db, editor, appeal, monkeypatch):
    monkeypatch.setattr(appeals, "COSIGNERS_MAX", 3)
    add_many(editor, appeal, "A\nB")
    before = snapshot(db)
    response = add_many(editor, appeal, "C\nD")
    assert response.status_code == 422 and "at most 3 co-signers" in response.text
    assert snapshot(db) == before
    assert add_many(editor, appeal, "C").status_code == 303


def test_another_appeals_co_signer_and_a_made_up_move_are_refused(db, editor, appeal):
    other = create_appeal(db.session, slug="other-appeal")
    db.session.commit()
    add_many(editor, appeal, "Mine\nAlso mine")
    mine = db.session.scalar(select(Cosigner.id).where(Cosigner.name == "Mine"))
    before = snapshot(db)
    base = f"/staff/appeals/{other.id}/cosigners/{mine}"
    assert editor.get(base).status_code == 404
    assert editor.post(base, {"name": "Stolen"}).status_code == 404
    assert editor.post(base + "/move", {"to": "top"}).status_code == 404
    assert editor.post(base + "/delete").status_code == 404
    own = f"/staff/appeals/{appeal.id}/cosigners/{mine}/move"
    assert editor.post(own, {"to": "sideways"}).status_code == 400
    assert editor.post(own, {}).status_code == 400
    assert editor.post(f"/staff/appeals/{appeal.id}/cosigners/99999/delete").status_code == 404
    assert snapshot(db) == before


def test_the_editor_page_lists_co_signers_with_their_controls(db, editor, appeal):
    add_many(editor, appeal, "First\nMiddle\nLast")
    page = editor.get(f"/staff/appeals/{appeal.id}/cosigners").text
    # The first cannot move up and the last cannot move down.
    first, middle, last = re.findall(r'<li id="cosigner-\d+">(.*?)</li>', page, re.S)
    assert 'value="up"' not in first and 'value="down"' in first
    assert 'value="up"' in middle and 'value="down"' in middle
    assert 'value="down"' not in last and 'value="bottom"' not in last
    edit_page = editor.get(f"/staff/appeals/{appeal.id}/edit").text
    assert "Co-signers (3)" in edit_page


def test_the_demo_loads_logos_once_however_often_it_runs(db, runner):
    for _ in range(2):
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
    db.session.rollback()
    coalition = db.session.scalar(select(Appeal).where(
        Appeal.slug == "ceasefire-now-statement"))
    assert len(coalition.cosigners) == 42 and coalition.hero_image.content_type == \
        "image/svg+xml"
    logos = [c.logo for c in coalition.cosigners if c.logo]
    assert len(logos) == 10 and len({logo.digest for logo in logos}) == 10


def test_with_the_page_cache_on_an_appeal_or_co_signer_edit_shows_at_once(database_url):
    """The public appeal page is cached per process (60 s here): every staff
    change that commits drops this process's copies."""
    from fundraiser.extensions import db as _db
    from fundraiser.staff import services
    from tests.conftest import make_app
    from tests.functional.staff.conftest import PASSWORD, StaffClient

    app = make_app(database_url, PUBLIC_CACHE_SECONDS=60)
    with app.app_context():
        appeal = create_appeal(_db.session, slug="cached", title="Old title")
        user, _ = services.create_staff(_db.session, "editor@example.org", "editor")
        services.set_password(_db.session, user, PASSWORD)
        _db.session.commit()
        visitor = app.test_client()
        assert "Old title" in visitor.get("/appeals/cached").text
        editor = StaffClient(app, user.email)
        assert editor.login().status_code == 302
        assert add_many(editor, appeal, "Fresh Union | Chile").status_code == 303
        assert "Fresh Union" in visitor.get("/appeals/cached").text
        form = {"slug": "cached", "title": "New title", "language": "en", "currency": "USD",
                "goal": "100", "status": "published", "submit": "1"}
        assert editor.post(f"/staff/appeals/{appeal.id}/edit", form).status_code == 303
        page = visitor.get("/appeals/cached").text
        assert "New title" in page and "Old title" not in page
        _db.session.remove()
        _db.engine.dispose()
