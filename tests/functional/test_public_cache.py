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
    assert client.get(PAGE).headers["Cache-Control"] == "no-cache"

    old = {path: client.get(path).headers["ETag"] for path in (API, PAGE)}
    succeed(app, payment_id)
    for path in (API, PAGE):
        fresh = client.get(path, headers={"If-None-Match": old[path]})
        assert fresh.status_code == 200, path
        assert fresh.headers["ETag"] != old[path]
    assert raised(client) == 2500


def test_the_shared_page_sets_no_cookie_and_a_donor_fetches_a_token_to_give(hosts):
    """A reader is not tracked: no session, no cookie, no token in the page,
    and any browser holding it may revalidate it. A donor's browser asks
    for its token (form_token.js) and the gift starts."""
    (app, _other), _pid, _ref = hosts
    reader = app.test_client()
    page = reader.get(PAGE)
    assert "Set-Cookie" not in page.headers
    assert '<meta name="csrf-token" content="">' in page.text
    assert re.search(r'name="csrf_token" type="hidden" value=""', page.text)
    assert 'data-token-url="/form-token"' in page.text and "js/form_token.js" in page.text
    stranger = app.test_client().get(PAGE, headers={"If-None-Match": page.headers["ETag"]})
    assert stranger.status_code == 304  # the same page for everyone

    fetched = reader.get("/form-token")
    assert fetched.headers["Cache-Control"] == "no-store" and "session=" in fetched.headers[
        "Set-Cookie"]
    gift = reader.post(PAGE + "/give", data={
        "csrf_token": fetched.get_json()["token"], "amount": "25", "currency": "USD",
        "name": "Dana Donor", "email": "dana@example.org"})
    assert gift.status_code == 303 and "/give/" in gift.headers["Location"]


def test_without_script_the_gift_form_comes_back_once_with_a_token(hosts):
    """A browser without script sends the shared page's form with no token:
    nothing starts, the donor's values come back with a token and a word on
    what to do, and pressing again goes through."""
    (app, _other), _pid, _ref = hosts
    browser = app.test_client()
    browser.get(PAGE)
    values = {"amount": "other", "other_amount": "18", "currency": "USD",
              "name": "Noa <Levi>", "email": "noa@example.org", "csrf_token": ""}
    again = browser.post(PAGE + "/give", data=values)
    assert again.status_code == 400
    assert "please press “Continue to payment” once more" in again.text
    assert 'value="18"' in again.text and "Noa &lt;Levi&gt;" in again.text
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM donations")).scalar() == 1
        db.session.remove()  # only the fixture's gift
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', again.text).group(1)
    sent = browser.post(PAGE + "/give", data={**values, "csrf_token": token})
    assert sent.status_code == 303
    # A forged token is refused the same way, never a server error.
    assert browser.post(PAGE + "/give", data={**values, "csrf_token": "x" * 5000}
                        ).status_code == 400


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


def test_a_warm_appeal_page_is_the_views_answer_without_flask(hosts, flask_requests):
    (app, _other), payment_id, _ref = hosts
    client = app.test_client()
    first = client.get(PAGE)
    again = client.get(PAGE)
    assert len(flask_requests) == 1  # the second answered before Flask
    assert again.data == first.data and _comparable(again) == _comparable(first)
    assert "Set-Cookie" not in again.headers
    held = client.get(PAGE, headers={"If-None-Match": first.headers["ETag"]})
    assert held.status_code == 304 and held.data == b"" and len(flask_requests) == 1

    succeed(app, payment_id)  # a gift: the next page has it (from Flask), then fast again
    assert page_figures(client) == ("$25", "1") and len(flask_requests) == 2
    assert page_figures(client) == ("$25", "1") and len(flask_requests) == 2


def test_the_fast_path_picks_the_language_flask_would(hosts, flask_requests):
    """Browser language, stored choice and address prefix, as Flask-Babel's
    selector weighs them (urls.choose_language): each language its own copy."""
    (app, _other), _payment_id, _ref = hosts

    def lang(response):
        return re.search(r'<html lang="([^"]+)"', response.text).group(1)

    hebrew = app.test_client()
    headers = {"Accept-Language": "he-IL,he;q=0.9,en;q=0.5"}
    assert [lang(hebrew.get(PAGE, headers=headers)) for _ in range(2)] == ["he", "he"]
    assert len(flask_requests) == 1
    assert lang(hebrew.get(PAGE, headers={"Accept-Language": "xx, de;q=0.3"})) == "de"
    assert lang(hebrew.get(PAGE)) == "en" and len(flask_requests) == 3

    chose_french = app.test_client()
    chose_french.set_cookie("lang", "fr")
    assert [lang(chose_french.get(PAGE, headers=headers)) for _ in range(2)] == ["fr", "fr"]
    assert len(flask_requests) == 4

    # /ar/… names the language; Flask stores it in the cookie, so a browser
    # without that cookie yet always reaches Flask, one with it need not.
    no_cookies = app.test_client(use_cookies=False)
    for _ in range(2):
        answer = no_cookies.get("/ar" + PAGE)
        assert lang(answer) == "ar" and "lang=ar" in answer.headers["Set-Cookie"]
    assert len(flask_requests) == 6
    keeps_cookies = app.test_client()
    assert [lang(keeps_cookies.get("/ar" + PAGE)) for _ in range(3)] == ["ar"] * 3
    assert len(flask_requests) == 8  # the first (sets the cookie), the second (learns)
    # The stored choice, with no prefix: another copy (its links have none).
    assert [lang(keeps_cookies.get(PAGE, headers=headers)) for _ in range(2)] == ["ar"] * 2
    assert len(flask_requests) == 9
    # What the fast path leaves to Flask: a query string, another method.
    assert lang(keeps_cookies.get(PAGE + "?lang=he")) == "he"
    assert keeps_cookies.head(PAGE).status_code == 200
    assert len(flask_requests) == 11


# -- the versions kept while Redis says none changed (fundraiser/cache_watch.py) --

class _Forgetful(dict):
    """The watch's versions, counting each time it forgot them all."""

    clears = 0

    def clear(self):
        self.clears += 1
        super().clear()


class RoundTrips:
    """Host A's reads of versions from Redis, and how many of them the watch
    owes to forgetting every version: Redis pushes a FLUSHDB of any database
    to every watch, and the tests beside this one (other xdist workers too)
    flush theirs. Each such flush may cost the next answer one read."""

    def __init__(self, known: _Forgetful):
        self.reads: list = []
        self._known = known

    def mark(self) -> tuple[int, int]:
        return len(self.reads), self._known.clears

    def since(self, mark) -> int:
        """Reads since `mark` that no flush explains."""
        reads, clears = mark
        return max(len(self.reads) - reads - (self._known.clears - clears), 0)

    def any_since(self, mark) -> bool:
        return len(self.reads) > mark[0]


@pytest.fixture
def round_trips(hosts, cache_config, monkeypatch):
    """How many times host A's public cache read versions from Redis."""
    if not cache_config:
        pytest.skip("the watch is Redis's (CLIENT TRACKING)")
    cache = hosts[0][0].extensions["fundraiser.public_cache"]
    known = _Forgetful(cache.watch._known)
    monkeypatch.setattr(cache.watch, "_known", known)
    trips = RoundTrips(known)
    reads = cache.backend.get_many

    def counted(*keys):
        trips.reads.append(keys)
        return reads(*keys)

    monkeypatch.setattr(cache.backend, "get_many", counted)
    return trips


def test_a_warm_answer_reads_no_version_from_redis_and_a_change_still_shows_next(
        hosts, round_trips):
    (host_a, host_b), payment_id, _ref = hosts
    a = host_a.test_client()
    assert raised(a) == 0 and page_figures(a) == ("$0", "0")
    before = round_trips.mark()
    for _ in range(5):
        assert raised(a) == 0 and page_figures(a) == ("$0", "0")
    assert round_trips.since(before) == 0  # versions known here, Redis asked nothing

    succeed(host_b, payment_id)  # another host: only Redis's push tells A
    assert raised(a) == 2500 and page_figures(a) == ("$25", "1")  # the very next answer
    assert round_trips.any_since(before)  # the changed version, read from Redis
    read_again = round_trips.mark()
    assert raised(a) == 2500 and page_figures(a) == ("$25", "1")
    assert round_trips.since(read_again) == 0  # and known again


def test_a_site_on_another_redis_database_is_not_heard(hosts, round_trips):
    """Redis tells a watch of changes in every database; the database's
    number in the keys' prefix keeps two sites on one Redis apart."""
    import redis

    from fundraiser.cache import key_prefix

    (host_a, _host_b), _payment_id, _ref = hosts
    a = host_a.test_client()
    raised(a)
    mine = key_prefix(CACHE_REDIS_URL)
    number = redis.ConnectionPool.from_url(CACHE_REDIS_URL).connection_kwargs.get("db", 0)
    theirs = key_prefix(re.sub(r"/\d*$", "", CACHE_REDIS_URL) + f"/{(number + 1) % 16}")
    assert mine != theirs
    admin = redis.Redis.from_url(CACHE_REDIS_URL)
    before = round_trips.mark()
    admin.set(theirs + "v:all", "their edit")  # the key another site's bump writes
    assert raised(a) == 0 and round_trips.since(before) == 0
    admin.set(mine + "v:all", "an edit here")
    assert raised(a) == 0 and round_trips.any_since(before)
    admin.close()


def _kill_watch(app):
    """Redis drops host A's watch connection, as a restart would."""
    import redis

    watch = app.extensions["fundraiser.public_cache"].watch
    assert watch.live()
    admin = redis.Redis.from_url(CACHE_REDIS_URL)
    db_number = str(admin.connection_pool.connection_kwargs.get("db", 0))
    mine = [c for c in admin.client_list() if "t" in c["flags"] and c["db"] == db_number]
    assert mine, admin.client_list()
    for client in mine:
        admin.client_kill_filter(_id=client["id"])
    admin.close()


def test_a_lost_watch_means_round_trips_until_it_is_back(hosts, round_trips, monkeypatch):
    from fundraiser import cache_watch

    (host_a, host_b), payment_id, _ref = hosts
    a = host_a.test_client()
    raised(a)
    _kill_watch(host_a)
    succeed(host_b, payment_id)  # pushed to nobody: A's watch is gone
    before = round_trips.mark()
    assert raised(a) == 2500  # read from Redis, not from what A knew
    assert round_trips.any_since(before)
    between = round_trips.mark()
    assert raised(a) == 2500 and round_trips.any_since(between)  # a round trip each time
    monkeypatch.setattr(cache_watch, "RETRY_SECONDS", 0)
    host_a.extensions["fundraiser.public_cache"].watch._retry_at = 0
    assert raised(a) == 2500  # connected again, and the versions read once
    settled = round_trips.mark()
    assert raised(a) == 2500 and round_trips.since(settled) == 0


def test_a_flushed_redis_forgets_every_known_version(hosts, round_trips):
    import redis

    (host_a, _host_b), _payment_id, _ref = hosts
    a = host_a.test_client()
    rename_quietly(host_a, "Renamed while cached")
    assert a.get(API).get_json()["title"] == "Renamed while cached"
    rename_quietly(host_a, "Renamed behind the cache's back")
    assert a.get(API).get_json()["title"] == "Renamed while cached"  # a hit
    admin = redis.Redis.from_url(CACHE_REDIS_URL)
    admin.flushdb()
    admin.close()
    assert a.get(API).get_json()["title"] == "Renamed behind the cache's back"


def test_the_watch_can_be_turned_off(database_url, cache_config):
    if not cache_config:
        pytest.skip("the watch is Redis's")
    app = make_app(database_url, PUBLIC_CACHE_SECONDS=HOUR, PUBLIC_CACHE_WATCH=False,
                   **cache_config)
    assert app.extensions["fundraiser.public_cache"].watch is None
    with app.app_context():
        db.engine.dispose()


def test_tokenless_gift_forms_count_against_the_gift_rate_limit(database_url):
    """Each tokenless send shows the appeal again (a page's worth of work),
    so it must not slip past the gift form's rate limit: the limit is
    checked before the CSRF check."""
    from tests.conftest import app_with

    with app_with(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                  GIVE_RATE_LIMIT="2 per minute") as limited:
        create_appeal(db.session)
        db.session.commit()
        client = limited.test_client()
        form = {"amount": "25", "currency": "USD", "name": "Bot", "email": "bot@example.org"}
        codes = [client.post(PAGE + "/give", data=form).status_code for _ in range(4)]
        assert codes == [400, 400, 429, 429]
        token = client.get("/form-token").get_json()["token"]  # one count for the form
        assert client.post(PAGE + "/give", data={**form, "csrf_token": token}).status_code == 429
