"""Sign-on (issue 19): a signature counts once its emailed link is used;
signing twice with one email merges; the link works once; bad input is
refused with a message and nothing stored; the count shows on the appeal
page, the widget and the API (`signatures: {count, goal}`). Both databases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from fundraiser.appeals import signatures
from fundraiser.appeals.models import Signature
from tests.factories import create_appeal

LINK = re.compile(r"(/sign/confirm/[A-Za-z0-9_-]+)")
FORM = {"name": "Noa Levi", "email": "noa@example.org", "country": "Israel",
        "comment": "Together.", "consent": ""}


@pytest.fixture
def petition(db):
    appeal = create_appeal(db.session, slug="test-appeal", signatures=(True, 500))
    db.session.commit()
    return appeal


def csrf(client, url="/appeals/test-appeal/sign") -> str:
    page = client.get(url)
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def sign(client, **fields):
    data = {**FORM, **fields}
    if not data.get("consent"):
        data.pop("consent")
    return client.post("/appeals/test-appeal/sign", data={"csrf_token": csrf(client), **data})


def mails(app):
    outbox = getattr(app.extensions["mailman"], "outbox", [])
    return [m for m in outbox if "/sign/confirm/" in m.body]


def confirm(client, path):
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf_token": csrf(client, path)})


def rows(db):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Signature))


def api_signatures(client):
    return client.get("/api/v1/appeals/test-appeal").get_json()["signatures"]


def test_a_signature_counts_once_its_link_is_used_and_the_link_works_once(
        app, client, db, petition):
    form = client.get("/appeals/test-appeal/sign")
    assert form.status_code == 200
    assert 'type="checkbox"' in form.text and "checked" not in form.text  # consent not ticked
    answer = sign(client)
    assert answer.status_code == 303
    assert "Check your inbox" in client.get(answer.headers["Location"]).text
    assert rows(db) == 1
    # Unconfirmed: not counted anywhere.
    assert api_signatures(client) == {"count": 0, "goal": 500}
    assert "0 of 500 signatures" in client.get("/appeals/test-appeal").text
    [mail] = mails(app)
    assert mail.to == ["noa@example.org"] and "Test appeal" in mail.subject
    path = LINK.search(mail.body).group(1)
    stored = db.session.scalar(select(Signature))
    assert stored.token_hash and path.rsplit("/", 1)[1] not in stored.token_hash  # hashed

    # Opening the link shows a button; it is the POST that confirms.
    page = client.get(path)
    assert "Confirm my signature" in page.text and "Noa Levi" in page.text
    assert api_signatures(client)["count"] == 0
    thanks = confirm(client, path)
    assert thanks.status_code == 200
    assert "Thank you for signing, <bdi>Noa Levi</bdi>!" in thanks.text
    assert "Will you also give?" in thanks.text and "Another amount" in thanks.text
    assert api_signatures(client) == {"count": 1, "goal": 500}
    assert "1 of 500 signatures" in client.get("/appeals/test-appeal").text
    assert re.search(r'data-field="signatures">1 <span class="of-goal">of 500',
                     client.get("/embed/test-appeal").text)

    # Once only.
    again = client.get(path)
    assert again.status_code == 404 and "This link does not work" in again.text
    assert client.post(path, data={"csrf_token": csrf(client)}).status_code == 404
    assert api_signatures(client)["count"] == 1


def test_signing_twice_with_one_email_merges(app, client, db, petition):
    assert sign(client).status_code == 303
    assert sign(client, email="  NOA@Example.org ", name="Noa L.").status_code == 303
    assert rows(db) == 1
    first, second = (LINK.search(m.body).group(1) for m in mails(app))
    assert confirm(client, first).status_code == 404  # replaced by the newer link
    assert confirm(client, second).status_code == 200
    assert db.session.scalar(select(Signature)).name == "Noa L."
    # Signing again once confirmed changes nothing and counts nothing.
    assert sign(client, name="Someone else").status_code == 303
    assert len(mails(app)) == 2
    assert rows(db) == 1
    db.session.rollback()
    assert db.session.scalar(select(Signature)).name == "Noa L."
    assert api_signatures(client) == {"count": 1, "goal": 500}


def test_two_signers_count_two_and_the_service_merges(db, petition):
    a = signatures.sign(db.session, petition, name="A", email="a@example.org")
    b = signatures.sign(db.session, petition, name="B", email="b@example.org")
    again = signatures.sign(db.session, petition, name="A2", email="A@example.org")
    assert again.merged and again.signature_id == a.signature_id
    assert signatures.confirm(db.session, a.token) is None  # superseded
    assert signatures.confirm(db.session, again.token) is not None
    assert signatures.confirm(db.session, b.token) is not None
    assert signatures.confirm(db.session, b.token) is None
    db.session.commit()
    assert signatures.figures(db.session, petition) == {"count": 2, "goal": 500}


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": ""}, "Please tell us your name"),
    ({"name": "x" * 121}, "Please keep your name under 120 characters"),
    ({"name": "Noa\r\nBcc: x@example.org"}, "characters that cannot be shown"),
    ({"name": "Noa\u202eLevi"}, "characters that cannot be shown"),
    ({"email": ""}, "We need your email to confirm your signature"),
    ({"email": "not-an-email"}, "does not look like an email address"),
    ({"email": "a@b.c" + "x" * 300}, "That email address is too long"),
    ({"email": "noa@example.org\r\nBcc: x@example.org"}, "characters an address cannot have"),
    ({"country": "y" * 81}, "At most 80 characters"),
    ({"comment": "z" * 501}, "At most 500 characters"),
    ({"comment": "hi\x00there"}, "characters that cannot be shown"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_stored(
        app, client, db, petition, fields, message):
    answer = sign(client, **fields)
    assert answer.status_code == 422
    assert message in answer.text
    assert 'role="alert"' in answer.text and 'aria-invalid="true"' in answer.text
    assert rows(db) == 0 and mails(app) == []


def test_hostile_text_is_shown_as_text(app, client, db, petition):
    assert sign(client, name="<script>alert(1)</script>").status_code == 303
    page = client.get(LINK.search(mails(app)[0].body).group(1))
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_an_appeal_that_asks_no_signatures_has_no_sign_page(client, db):
    create_appeal(db.session, slug="test-appeal")
    create_appeal(db.session, slug="draft-one", status="draft", signatures=(True, None))
    db.session.commit()
    assert client.get("/appeals/test-appeal/sign").status_code == 404
    assert client.get("/appeals/draft-one/sign").status_code == 404
    assert client.get("/sign/confirm/nonsense").status_code == 404
    assert client.get("/sign/confirm/" + "x" * 500).status_code == 404
    assert api_signatures(client) == {"count": 0, "goal": None}
    assert 'data-field="signatures"' not in client.get("/appeals/test-appeal").text
    assert 'data-field="signatures"' not in client.get("/embed/test-appeal").text


def test_the_hebrew_sign_page_is_right_to_left(client, petition):
    page = client.get("/appeals/test-appeal/sign?lang=he").text
    assert '<html lang="he" dir="rtl">' in page
    assert "Full name" not in page and "Sign the appeal" not in page


def test_signing_is_rate_limited(database_url):
    from tests.conftest import app_with

    with app_with(database_url, RATELIMIT_ENABLED=True, SIGN_LIMIT_ADDRESS="2 per minute",
                  SIGN_LIMIT_EMAIL="100 per minute") as app:
        from fundraiser.extensions import db, limiter

        limiter.reset()
        create_appeal(db.session, signatures=(True, None))
        db.session.commit()
        client = app.test_client()
        for i in range(2):
            assert sign(client, email=f"s{i}@example.org").status_code == 303
        refused = sign(client, email="s9@example.org")
        assert refused.status_code == 429
        assert "You have signed several times in a short time" in refused.text
        assert rows(db) == 2
