"""The public cache as a donor and a poller see it (issue 17): with an hour's
lifetime, a gift that succeeds shows on the very next view of the appeal page
and the progress JSON; a browser holding the current figures gets `304 Not
Modified`, and another ETag once they change. Once with the in-process
SimpleCache, once on Redis (db 12), where two apps stand for two hosts: a
page cached by one is never served stale by the other after a change."""

from __future__ import annotations

import os
import re
from contextlib import ExitStack

import pytest
from sqlalchemy import text

from fundraiser.extensions import db
from fundraiser.payments import services as payments
from tests import support
from tests.conftest import make_app
from tests.factories import create_appeal, create_donation

CACHE_REDIS_URL = os.environ.get("TEST_REDIS_CACHE_URL", "redis://127.0.0.1:6379/12")
HOUR = 3600
PAGE, API = "/appeals/test-appeal", "/api/v1/appeals/test-appeal"


@pytest.fixture(params=["simple", "redis"])
def cache_config(request):
    if request.param == "simple":
        yield {}
        return
    import redis

    connection = redis.Redis.from_url(CACHE_REDIS_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        connection.close()
        pytest.skip(f"no Redis at {CACHE_REDIS_URL}")
    connection.flushdb()  # this test's own database only
    try:
        yield {"CACHE_REDIS_URL": CACHE_REDIS_URL}
    finally:
        connection.flushdb()
        connection.close()


@pytest.fixture
def hosts(database_url, cache_config):
    """Two apps on one database and one cache configuration: two hosts when
    the cache is Redis (with SimpleCache each has its own)."""
    apps = [make_app(database_url, PUBLIC_CACHE_SECONDS=HOUR, **cache_config) for _ in range(2)]
    with apps[0].app_context():
        appeal = create_appeal(db.session)
        gift = create_donation(db.session, appeal, amount_minor=2500)
        db.session.commit()
        payment_id, reference = gift.payment_id, gift.payment.reference
        db.session.remove()
    yield apps, payment_id, reference
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def succeed(app, payment_id):
    """The webhook's work: the gift succeeds, in `app`'s process."""
    with app.app_context():
        payments.transition_to(db.session, payment_id, "succeeded")
        db.session.commit()
        db.session.remove()


def raised(client):
    return client.get(API).get_json()["raised_minor"]


def page_figures(client):
    html = client.get(PAGE).text
    given = re.search(r'data-field="raised">([^<]*)<', html).group(1)
    donors = re.search(r'data-field="donors">([^<]*)<', html).group(1)
    return given, donors


def rename_quietly(app, title):
    """A change to the database that tells no cache (no signal, no staff
    commit): what a reader sees then shows whether it came from the cache."""
    with app.app_context():
        db.session.execute(text("UPDATE appeals SET title = :t"), {"t": title})
        db.session.commit()
        db.session.remove()


def test_a_gift_shows_on_the_next_view_though_the_page_was_cached_for_an_hour(hosts):
    (app, _other), payment_id, _ref = hosts
    client = app.test_client()
    assert raised(client) == 0
    assert page_figures(client) == ("$0", "0")
    rename_quietly(app, "Renamed behind the cache's back")
    # Hits: both still show what was cached.
    assert "Renamed" not in client.get(PAGE).text
    assert client.get(API).get_json()["title"] == "Test appeal"

    succeed(app, payment_id)  # misses from here on: the appeal's version changed
    assert raised(client) == 2500
    assert page_figures(client) == ("$25", "1")
    assert "Renamed behind the cache" in client.get(PAGE).text


def test_a_matching_etag_gets_304_and_a_change_gets_another_etag(hosts):
    (app, _other), payment_id, _ref = hosts
    client = app.test_client()
    for path in (API, PAGE):
        first = client.get(path)
        etag = first.headers["ETag"]
        assert etag.startswith('W/"')
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == etag
    assert "max-age=5" in client.get(API).headers["Cache-Control"]
    assert client.get(PAGE).headers["Cache-Control"] == "private, no-cache"

    old = {path: client.get(path).headers["ETag"] for path in (API, PAGE)}
    succeed(app, payment_id)
    for path in (API, PAGE):
        fresh = client.get(path, headers={"If-None-Match": old[path]})
        assert fresh.status_code == 200, path
        assert fresh.headers["ETag"] != old[path]
    assert raised(client) == 2500


def test_another_visitor_never_gets_304_for_a_page_with_someone_elses_token(hosts):
    (app, _other), _pid, _ref = hosts
    etag = app.test_client().get(PAGE).headers["ETag"]
    stranger = app.test_client().get(PAGE, headers={"If-None-Match": etag})
    assert stranger.status_code == 200 and "csrf-placeholder" not in stranger.text


def test_a_change_made_on_one_host_is_seen_on_the_other(hosts, cache_config):
    """A signed webhook applied by host B; host A had the figures cached."""
    (host_a, host_b), _pid, reference = hosts
    a, b = host_a.test_client(), host_b.test_client()
    assert raised(a) == 0 and raised(b) == 0
    etag = a.get(API).headers["ETag"]
    payload = support.stripe_event("payment_intent.succeeded", support.intent_object(
        "pi_cache1", "succeeded", 2500, "USD", reference), "evt_cache1")
    with host_b.app_context():
        assert support.post_event(b, host_b, payload).status_code == 200
    seen_by_a = a.get(API, headers={"If-None-Match": etag})
    if cache_config:  # one shared cache: host A drops its copy too
        assert seen_by_a.status_code == 200 and seen_by_a.get_json()["raised_minor"] == 2500
    else:  # each process its own cache: A's copy lives out its lifetime
        assert seen_by_a.status_code == 304
    assert raised(b) == 2500


def test_a_staff_edit_is_seen_on_every_host(hosts, cache_config):
    (host_a, host_b), _pid, _ref = hosts
    a = host_a.test_client()
    assert a.get(API).get_json()["title"] == "Test appeal"
    with ExitStack() as stack:
        stack.enter_context(host_b.app_context())
        from fundraiser.appeals.models import Appeal

        appeal = db.session.query(Appeal).one()
        appeal.title = "Bread and roses"
        from fundraiser.staff.blueprint import commit

        stack.enter_context(host_b.test_request_context())
        commit()
        db.session.remove()
    title = a.get(API).get_json()["title"]
    assert title == ("Bread and roses" if cache_config else "Test appeal")


# -- the warm progress JSON, answered before Flask (fundraiser/api/fastpath.py) --

@pytest.fixture
def flask_requests(hosts):
    """How many requests reached Flask (the fast path sends none there)."""
    from flask import request_started

    app = hosts[0][0]
    seen = []

    def count(sender, **_kw):
        seen.append(1)

    request_started.connect(count, app)
    yield seen
    request_started.disconnect(count, app)


def _comparable(response):
    return {k: v for k, v in response.headers.items() if k not in ("X-Request-Id", "Date")}


def test_a_warm_progress_json_is_the_views_answer_without_flask(hosts, flask_requests):
    (app, _other), payment_id, _ref = hosts
    client = app.test_client()
    first = client.get(API)
    assert len(flask_requests) == 1
    again = client.get(API)
    assert len(flask_requests) == 1  # answered before Flask
    assert again.status_code == 200 and again.data == first.data
    assert _comparable(again) == _comparable(first)  # ETag, CORS, CSP, nosniff, cache
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]

    # A poller holding these figures: 304, no body, same ETag.
    etag = first.headers["ETag"]
    for held in (etag, f'"other", {etag}', etag.removeprefix("W/")):
        not_modified = client.get(API, headers={"If-None-Match": held})
        assert not_modified.status_code == 304 and not_modified.data == b""
        assert not_modified.headers["ETag"] == etag
    assert client.get(API, headers={"If-None-Match": '"stale"'}).status_code == 200
    assert len(flask_requests) == 1

    succeed(app, payment_id)  # a gift: the next answer has it, from Flask, then fast again
    assert raised(client) == 2500 and len(flask_requests) == 2
    assert client.get(API, headers={"If-None-Match": etag}).status_code == 200
    assert raised(client) == 2500 and len(flask_requests) == 2


def test_what_the_fast_path_is_not_sure_of_goes_to_flask(hosts, flask_requests):
    (app, _other), _payment_id, _ref = hosts
    client = app.test_client()
    client.get(API)
    client.get(API)
    assert len(flask_requests) == 1  # warm
    # A Host outside TRUSTED_HOSTS is refused by Flask, warm or not.
    assert client.get(API, headers={"Host": "evil.example"}).status_code == 400
    assert client.get(API + "?fresh=1").status_code == 200  # a query string
    assert client.head(API).status_code == 200
    assert client.get("/fr" + API).status_code == 404  # the API has no language prefix
    assert client.get("/api/v1/appeals/no-such-appeal").status_code == 404
    assert client.get("/api/v1/appeals/no-such-appeal").status_code == 404  # cached as none
    assert len(flask_requests) == 7
    # An id from outside is echoed only when it looks like one.
    given = client.get(API, headers={"X-Request-Id": "req-1234-abcd"})
    hostile = client.get(API, headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert given.headers["X-Request-Id"] == "req-1234-abcd"
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-Id"])
    assert len(flask_requests) == 7


def test_without_the_cache_the_fast_path_steps_aside(hosts, flask_requests, monkeypatch):
    (app, _other), _payment_id, _ref = hosts
    client = app.test_client()
    client.get(API)
    cache = app.extensions["fundraiser.public_cache"]

    def unreachable(*_a, **_kw):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "versions", unreachable)
    answer = client.get(API)
    assert answer.status_code == 200 and answer.get_json()["raised_minor"] == 0
    assert len(flask_requests) == 2  # computed by the view, uncached
