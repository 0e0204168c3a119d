"""What a donor sees: pages, forms and their messages, languages, the API."""

import os

import pytest
from sqlalchemy import func, select

from fundraiser.media import services as media
from fundraiser.payments.models import Payment
from tests.factories import create_appeal


def payments_count(db):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Payment))


@pytest.mark.parametrize(("fields", "message"), [
    ({"amount": "other", "other_amount": "-5"}, "Please enter an amount as a number"),
    ({"amount": "other", "other_amount": "0"}, "The smallest gift we can take is $1.00"),
    ({"amount": "other", "other_amount": "0.99"}, "The smallest gift we can take is $1.00"),
    ({"amount": "other", "other_amount": "1e9"}, "Please enter an amount as a number"),
    ({"amount": "other", "other_amount": "1000000000"}, "The largest gift we can take online"),
    ({"amount": "other", "other_amount": "twenty"}, "Please enter an amount as a number"),
    ({"amount": "other", "other_amount": ""}, "Please choose or enter an amount"),
    ({"amount": "other", "other_amount": "25.555"}, "at most 2 decimal places"),
    ({"amount": "", "other_amount": ""}, "Please choose or enter an amount"),
    ({"email": ""}, "We need your email to send your receipt"),
    ({"email": "not-an-email"}, "does not look like an email address"),
    ({"email": "a@b.c" + "x" * 300}, "That email address is too long"),
    ({"name": ""}, "Please tell us your name"),
    ({"name": "x" * 10_000}, "Please keep your name under 120 characters"),
    ({"comment": "y" * 501}, "At most 500 characters"),
    ({"display_name": "z" * 81}, "At most 80 characters"),
])
def test_bad_form_input_gets_a_clear_message_and_creates_no_payment(
        client, db, fields, message):
    from tests.functional.conftest import Donor

    create_appeal(db.session)
    db.session.commit()
    response = Donor(client, None).fill_form("test-appeal", **fields)
    assert response.status_code == 422
    page = response.data.decode()
    assert message in page
    assert 'role="alert"' in page and 'aria-invalid="true"' in page
    assert 'aria-invalid="None"' not in page and 'aria-invalid="false"' not in page
    assert payments_count(db) == 0


def test_hostile_text_is_shown_as_text(client, db):
    from tests.functional.conftest import Donor

    create_appeal(db.session)
    db.session.commit()
    response = Donor(client, None).fill_form(
        "test-appeal", name="<script>alert(1)</script>", email="bad")
    assert b"<script>alert(1)</script>" not in response.data
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.data


def test_a_form_without_csrf_token_is_refused(client, db):
    create_appeal(db.session)
    db.session.commit()
    response = client.post("/appeals/test-appeal/give", data={
        "amount": "25", "currency": "USD", "name": "A", "email": "a@example.org"})
    assert response.status_code == 400
    assert payments_count(db) == 0


def test_draft_appeals_are_not_public_and_closed_ones_take_no_gifts(client, db):
    from tests.functional.conftest import Donor

    create_appeal(db.session, slug="secret-draft", status="draft")
    create_appeal(db.session, slug="closed-one", status="closed")
    create_appeal(db.session, slug="ended-one", ends_in_days=-1)
    db.session.commit()
    assert client.get("/appeals/secret-draft").status_code == 404
    assert client.get("/api/v1/appeals/secret-draft").status_code == 404
    slugs = [a["slug"] for a in client.get("/api/v1/appeals").get_json()]
    assert "secret-draft" not in slugs and "closed-one" not in slugs
    for slug in ("closed-one", "ended-one"):
        page = client.get(f"/appeals/{slug}").data.decode()
        assert "no longer taking gifts" in page
        response = Donor(client, None).fill_form(slug)
        assert response.status_code == 422
        assert "no longer taking gifts" in response.data.decode()
    assert payments_count(db) == 0


def test_appeal_page_has_story_cosigners_goal_and_link_preview(app, client, db):
    with open(os.path.join(app.static_folder, "img", "coalition.svg"), "rb") as f:
        hero = media.store_svg(db.session, f.read(), 1200, 600)
    create_appeal(db.session, slug="with-cosigners", title="Sign & give",
                  summary="Short summary", story_md="We **stand** together.",
                  hero_image=hero, hero_alt="Hands holding a paper",
                  hero_credit="Photo: Someone",
                  cosigners=[{"name": f"Org {i}", "country": "Canada",
                              "url": "https://example.org"} for i in range(40)])
    db.session.commit()
    page = client.get("/appeals/with-cosigners").data.decode()
    assert "<strong>stand</strong>" in page
    assert "Signed by 40 organisations" in page and "Org 39" in page
    assert "Show all 40 organisations" in page  # a long list folds away on a phone
    assert 'property="og:title" content="Sign &amp; give"' in page
    assert ('property="og:image" content="http://127.0.0.1:5000/media/'
            f'{hero.digest}.svg"') in page
    assert 'alt="Hands holding a paper"' in page and "Photo: Someone" in page
    assert "$0" in page and "of $10,000 goal" in page and "Days left" in page


def test_hebrew_interface_is_right_to_left(client, db):
    create_appeal(db.session, slug="he-appeal", title="עצומה", language="he", currency="ILS")
    db.session.commit()
    english = client.get("/appeals/he-appeal").data.decode()
    assert '<html lang="en" dir="ltr">' in english
    assert 'lang="he" dir="rtl"' in english  # the Hebrew story is marked up as such
    client.get("/lang/he?next=/appeals/he-appeal")
    hebrew = client.get("/appeals/he-appeal").data.decode()
    assert '<html lang="he" dir="rtl">' in hebrew
    assert "תרמו לקמפיין הזה" in hebrew and "המשך לתשלום" in hebrew
    assert "₪" in hebrew


def test_the_language_switch_is_not_an_open_redirect(client):
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = client.get("/lang/he", query_string={"next": target})
        assert response.status_code == 302
        assert response.headers["Location"] in ("/", "http://localhost/")
    assert client.get("/lang/xx?next=/").headers.get("Set-Cookie") is None


def test_api_follows_the_public_contract(client, db):
    create_appeal(db.session, slug="contract", currency="EUR", goal_major=500)
    db.session.commit()
    listing = client.get("/api/v1/appeals")
    assert listing.headers["Access-Control-Allow-Origin"] == "*"
    assert listing.get_json() == [{"slug": "contract", "title": "Test appeal",
                                   "url": "http://127.0.0.1:5000/appeals/contract"}]
    body = client.get("/api/v1/appeals/contract").get_json()
    for key in ("slug", "title", "status", "currency", "goal_minor", "raised_minor",
                "matched_minor", "total_minor", "donor_count", "donation_count", "ends_at",
                "match_pools"):
        assert key in body
    assert (body["currency"], body["goal_minor"], body["status"]) == ("EUR", 50000, "published")
    assert body["ends_at"].endswith("Z")
    assert client.get("/api/v1/appeals/NOPE!").status_code == 404
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/appeals/{slug}" in spec["paths"]


def test_pages_carry_a_content_security_policy(client, db):
    create_appeal(db.session)
    db.session.commit()
    response = client.get("/appeals/test-appeal")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_typed_amount_wins_over_a_preset_left_selected(client, db):
    from tests.functional.conftest import Donor

    create_appeal(db.session)
    db.session.commit()
    response = Donor(client, None).fill_form("test-appeal", amount="25", other_amount="75")
    assert response.status_code == 303
    pay = client.get(response.headers["Location"]).data.decode()
    assert "$75.00" in pay and "$25.00" not in pay


def test_public_figures_are_cached_briefly_and_a_payment_change_clears_them(tmp_path):
    """With the production cache on, a worker that applies a gift shows it at once."""
    from fundraiser.extensions import db as _db
    from fundraiser.payments import services as payments
    from tests.conftest import make_app
    from tests.factories import create_donation

    app = make_app(f"sqlite:///{tmp_path / 'c.sqlite'}", PUBLIC_CACHE_SECONDS=60)
    with app.app_context():
        client = app.test_client()
        appeal = create_appeal(_db.session)
        gift = create_donation(_db.session, appeal)
        _db.session.commit()
        assert client.get("/api/v1/appeals/test-appeal").get_json()["raised_minor"] == 0
        payments.transition_to(_db.session, gift.payment_id, "succeeded")
        _db.session.commit()
        assert client.get("/api/v1/appeals/test-appeal").get_json()["raised_minor"] == 2500
        _db.session.remove()
        _db.engine.dispose()


def test_a_shared_appeal_page_lets_each_visitor_give_with_their_own_csrf_token(tmp_path):
    """With the page cache on, two visitors get the very same page (no token
    in it), fetch their own token as form_token.js does, and each gives
    with it; neither token works in the other's session."""
    from fundraiser.extensions import db as _db
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'p.sqlite'}", PUBLIC_CACHE_SECONDS=60)
    with app.app_context():
        create_appeal(_db.session)
        _db.session.commit()
        _db.session.remove()
    # No app context held here: each request gets its own, as on a server.
    pages, tokens, clients = [], [], []
    for _visitor in range(2):
        client = app.test_client()
        pages.append(client.get("/appeals/test-appeal").data)
        tokens.append(client.get("/form-token").get_json()["token"])
        clients.append(client)
    assert pages[0] == pages[1] and b'name="csrf_token" type="hidden" value=""' in pages[0]
    assert tokens[0] != tokens[1]
    for visitor, client in enumerate(clients):
        gift = {"amount": "25", "currency": "USD", "name": f"Visitor {visitor}",
                "email": f"v{visitor}@example.org"}
        other = tokens[1 - visitor]
        assert client.post("/appeals/test-appeal/give",
                           data={**gift, "csrf_token": other}).status_code == 400
        assert client.post("/appeals/test-appeal/give",
                           data={**gift, "csrf_token": tokens[visitor]}).status_code == 303
    with app.app_context():
        _db.engine.dispose()
