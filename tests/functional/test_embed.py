"""The embeddable widget (issue 19): `/embed/<slug>` shows the goal figures,
may be framed by any site (the one page that may), opens the appeal in a new
tab, speaks Hebrew right to left, and is shared through the public cache."""

from __future__ import annotations

import re

import pytest

from fundraiser.payments import services as payments
from tests.factories import create_appeal, create_donation


@pytest.fixture
def widget_appeal(db):
    appeal = create_appeal(db.session, slug="test-appeal", goal_major=1000)
    gift = create_donation(db.session, appeal, amount_minor=2500)
    db.session.commit()
    payments.transition_to(db.session, gift.payment_id, "succeeded")
    db.session.commit()
    return appeal


def test_the_widget_shows_the_goal_and_opens_the_appeal_in_a_new_tab(client, widget_appeal):
    response = client.get("/embed/test-appeal")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en" dir="ltr">' in html
    assert re.search(r'data-field="total">\$25</strong>\s+of \$1,000 goal', html)
    assert 'data-field="donors">1<' in html
    link = re.search(r'<a class="widget-button" href="([^"]+)" target="_blank" rel="noopener">',
                     html)
    assert link and link.group(1) == "http://127.0.0.1:5000/appeals/test-appeal?lang=en"
    assert "Give now" in html
    assert "<script" not in html and "<form" not in html
    assert "Set-Cookie" not in response.headers  # nothing personal: shareable by any cache


def test_only_the_widget_may_be_framed(client, widget_appeal):
    widget = client.get("/embed/test-appeal")
    csp = widget.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "script-src 'none'" in csp
    assert "X-Frame-Options" not in widget.headers
    for path in ("/", "/appeals/test-appeal", "/appeals/test-appeal?lang=he",
                 "/api/v1/appeals/test-appeal", "/staff/login", "/nope"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_the_framing_sites_can_be_listed(database_url):
    from tests.conftest import app_with

    with app_with(database_url, EMBED_FRAME_ANCESTORS="https://partner.example; script-src *"
                  ) as app:
        from fundraiser.extensions import db

        create_appeal(db.session)
        db.session.commit()
        csp = app.test_client().get("/embed/test-appeal").headers["Content-Security-Policy"]
    assert csp.endswith("frame-ancestors https://partner.example script-src *")
    assert csp.count(";") == 8  # the setting cannot add a directive of its own


@pytest.mark.parametrize("path", ["/embed/unknown", "/embed/draft-one", "/embed/NOPE!",
                                  "/embed/" + "x" * 300])
def test_unknown_and_draft_appeals_are_not_found(client, db, path):
    create_appeal(db.session, slug="draft-one", status="draft")
    db.session.commit()
    assert client.get(path).status_code == 404


def test_the_widget_speaks_hebrew_right_to_left(client, widget_appeal):
    html = client.get("/embed/test-appeal?lang=he").text
    assert '<html lang="he" dir="rtl">' in html
    assert "/appeals/test-appeal?lang=he" in html
    assert "Give now" not in html and "Donors" not in html
    # the appeal's own words keep their language and direction
    assert '<h1 class="widget-title" lang="en" dir="ltr">Test appeal</h1>' in html


def test_the_widget_is_cached_and_answers_304(client, widget_appeal, db):
    first = client.get("/embed/test-appeal")
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert "Accept-Language" in first.headers["Vary"]
    again = client.get("/embed/test-appeal", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # a new gift (its commit tells the cache) gives new figures and another ETag
    gift = create_donation(db.session, widget_appeal, amount_minor=1000, email="b@example.org")
    db.session.commit()
    payments.transition_to(db.session, gift.payment_id, "succeeded")
    db.session.commit()
    after = client.get("/embed/test-appeal", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != first.headers["ETag"]
    assert 'data-field="donors">2<' in after.text
