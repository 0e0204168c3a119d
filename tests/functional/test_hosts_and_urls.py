"""The request's Host is the visitor's word: absolute addresses come from
APP_URL, a Host outside TRUSTED_HOSTS is refused, HSTS over https, and the
public page cache tells every slug apart (issue 15)."""

import re

from fundraiser.matching import services as matching
from fundraiser.payments import services as payments
from fundraiser.payments import states
from tests.conftest import app_with
from tests.factories import create_appeal, create_donation

APP_URL = "http://127.0.0.1:5000"


def test_a_forged_host_is_refused_and_cannot_poison_the_cached_api(database_url):
    with app_with(database_url, PUBLIC_CACHE_SECONDS=60) as app:
        from fundraiser.extensions import db
        create_appeal(db.session, slug="poison")
        db.session.commit()
        client = app.test_client()
        check_poisoning(client)


def check_poisoning(client):
    forged = client.get("/api/v1/appeals/poison", headers={"Host": "evil.example"})
    assert forged.status_code == 400
    assert b"evil.example" not in forged.data
    honest = client.get("/api/v1/appeals/poison")
    assert honest.status_code == 200
    assert honest.get_json()["url"] == APP_URL + "/appeals/poison"
    for path in ("/", "/appeals/poison", "/staff/login"):
        assert client.get(path, headers={"Host": "evil.example:443"}).status_code == 400


def test_absolute_addresses_come_from_app_url_whatever_host_was_used(client, db):
    appeal = create_appeal(db.session, slug="from-app-url")
    funding = create_donation(db.session, appeal, amount_minor=5_000, email="dana@x.org")
    pledge = matching.create_pledge(
        db.session, appeal_id=appeal.id, currency="USD", amount_minor=5_000,
        pledger_name="Dana", pledger_email="dana@x.org", origin_payment_id=None,
        funding_payment_id=funding.payment_id)
    payments.transition_to(db.session, funding.payment_id, states.SUCCEEDED)
    matching.activate_pledge_funded_by(db.session, funding.payment_id)
    db.session.commit()
    other_host = {"Host": "127.0.0.1:8999"}   # trusted in development, but not APP_URL
    assert client.get("/api/v1/appeals", headers=other_host).get_json()[0]["url"] == (
        APP_URL + "/appeals/from-app-url")
    body = client.get("/api/v1/appeals/from-app-url", headers=other_host).get_json()
    assert body["url"] == APP_URL + "/appeals/from-app-url"
    page = client.get("/appeals/from-app-url", headers=other_host).data.decode()
    assert f'property="og:url" content="{APP_URL}/appeals/from-app-url"' in page
    share = client.get(f"/match/{pledge.code}", headers=other_host).data.decode()
    assert f"{APP_URL}/appeals/from-app-url?ref={pledge.code}" in share
    assert "8999" not in share and "8999" not in page


def test_trusted_hosts_come_from_config_or_app_url(database_url):
    with app_with(database_url, TRUSTED_HOSTS="give.example.org, .example.net") as listed:
        client = listed.test_client()
        assert client.get("/", headers={"Host": "give.example.org"}).status_code == 200
        assert client.get("/", headers={"Host": "www.example.net"}).status_code == 200
        assert client.get("/", headers={"Host": "localhost"}).status_code == 400
    with app_with(database_url, APP_URL="https://give.example.org",
                  PRODUCTION=True) as production:
        client = production.test_client()
        assert client.get("/", headers={"Host": "give.example.org"}).status_code == 200
        assert client.get("/", headers={"Host": "127.0.0.1"}).status_code == 400


def test_hsts_is_sent_when_the_site_is_https(database_url):
    with app_with(database_url, APP_URL="https://give.example.org") as https:
        answer = https.test_client().get("/", headers={"Host": "give.example.org"})
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    with app_with(database_url) as plain:
        assert "Strict-Transport-Security" not in plain.test_client().get("/").headers


def test_a_slug_longer_than_80_characters_does_not_share_a_cache_entry(database_url):
    slug = "a" * 80
    with app_with(database_url, PUBLIC_CACHE_SECONDS=60) as app:
        from fundraiser.extensions import db
        create_appeal(db.session, slug=slug, title="Eighty")
        db.session.commit()
        check_slugs(app.test_client(), slug)


def check_slugs(client, slug):
    # Someone asks for the 81-character address first ...
    assert client.get(f"/appeals/{slug}b").status_code == 404
    assert client.get(f"/api/v1/appeals/{slug}b").status_code == 404
    # ... and the real appeal still answers, page and API.
    page = client.get(f"/appeals/{slug}")
    assert page.status_code == 200 and b"Eighty" in page.data
    assert client.get(f"/api/v1/appeals/{slug}").get_json()["slug"] == slug
    # The other way round: the real one cached, the longer address is not it.
    assert client.get(f"/appeals/{slug}c").status_code == 404
    assert client.get(f"/api/v1/appeals/{slug}c").status_code == 404
    assert not re.search(r"Eighty", client.get(f"/appeals/{slug}c").data.decode())
