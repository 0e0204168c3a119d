"""A signature's emailed link works for SIGN_LINK_VALID_DAYS (issue 19):
after that it opens a page that says so and sends a new link, to the address
that signed, on request. Both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from fundraiser.appeals.models import Signature
from fundraiser.payments.models import utcnow
from tests.factories import create_appeal
from tests.functional.test_signatures import LINK, api_signatures, confirm, csrf, mails, sign


@pytest.fixture
def petition(db):
    appeal = create_appeal(db.session, slug="test-appeal", signatures=(True, 500))
    db.session.commit()
    return appeal


def age_links(db, days):
    db.session.execute(update(Signature).values(link_sent_at=utcnow() - timedelta(days=days)))
    db.session.commit()


def test_an_expired_link_says_so_and_sends_a_new_one(app, client, db, petition):
    assert sign(client).status_code == 303
    [mail] = mails(app)
    assert "The link works for 7 days." in mail.body
    path = LINK.search(mail.body).group(1)
    age_links(db, 7)
    page = client.get(path)
    assert page.status_code == 410
    assert "This link has expired" in page.text and "Email me a new link" in page.text
    assert "has not been counted yet" in page.text
    # Confirming through the old form is refused too, and counts nothing.
    refused = client.post(path, data={"csrf_token": csrf(client)})
    assert refused.status_code == 410 and api_signatures(client)["count"] == 0
    token = path.rsplit("/", 1)[1]
    renewed = client.post(f"/sign/renew/{token}", data={"csrf_token": csrf(client)})
    assert renewed.status_code == 303
    assert "Check your inbox" in client.get(renewed.headers["Location"]).text
    first, second = mails(app)
    assert second.to == ["noa@example.org"]
    new_path = LINK.search(second.body).group(1)
    assert new_path != path
    assert client.get(path).status_code == 404           # the old link is gone
    assert confirm(client, new_path).status_code == 200
    assert api_signatures(client)["count"] == 1


def test_a_link_inside_its_days_still_works(app, client, db, petition):
    sign(client)
    path = LINK.search(mails(app)[0].body).group(1)
    age_links(db, 6)
    assert confirm(client, path).status_code == 200
    assert api_signatures(client)["count"] == 1


def test_the_days_are_a_setting(database_url):
    from tests.conftest import app_with

    with app_with(database_url, SIGN_LINK_VALID_DAYS=1) as app:
        from fundraiser.extensions import db

        create_appeal(db.session, signatures=(True, 500))
        db.session.commit()
        client = app.test_client()
        sign(client)
        path = LINK.search(mails(app)[0].body).group(1)
        assert "The link works for 1 day." in mails(app)[0].body
        age_links(db, 2)
        expired = client.get(path)
        assert expired.status_code == 410
        assert "Confirmation links work for 1 day, and this one is older." in expired.text


def test_renewing_needs_a_real_pending_link(app, client, db, petition):
    for token in ("nonsense", "x" * 200):
        response = client.post(f"/sign/renew/{token}", data={"csrf_token": csrf(client)})
        assert response.status_code == 404 and "This link does not work" in response.text
    sign(client)
    path = LINK.search(mails(app)[0].body).group(1)
    confirm(client, path)
    token = path.rsplit("/", 1)[1]
    # a used link cannot be renewed into a second confirmation
    assert client.post(f"/sign/renew/{token}",
                       data={"csrf_token": csrf(client)}).status_code == 404
    assert len(mails(app)) == 1
    db.session.rollback()
    assert db.session.scalar(select(Signature.token_hash)) is None
