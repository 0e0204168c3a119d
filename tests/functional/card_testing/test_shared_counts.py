"""The card counters and the breaker are shared by every app process: two
create_app() instances against one database (no Redis), or one Redis, stand
for two workers or two hosts. A count made through one is enforced by the
other."""

import os

import pytest
import redis
from sqlalchemy import func, select

from fundraiser.abuse.models import AbuseHit
from tests.functional.card_testing.conftest import (
    DECLINED,
    VISA,
    Visitor,
    guarded_app,
)

# Redis db 3 is this suite's own (flushed here); set TEST_REDIS_URL to move it.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
# One declined gift blocks its address (1 + 1 + 5 = 7) and its card (1 + 5 = 6).
TIGHT = {"CARD_GUARD_IP": "7,7", "CARD_GUARD_CARD": "6,6", "CARD_BREAKER_DECLINES": 2,
         "CARD_GUARD_EMAIL": "1000,2000"}


@pytest.fixture(params=["database", "redis"])
def store_config(request):
    if request.param == "database":
        yield {}
        return
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    yield {"REDIS_URL": REDIS_URL}
    client.flushdb()
    client.close()


@pytest.fixture
def two_apps(database_url, localstripe, clock, store_config):
    from fundraiser.extensions import db
    from tests.factories import create_appeal

    first = guarded_app(database_url, localstripe, clock, **TIGHT, **store_config)
    second = guarded_app(database_url, localstripe, clock, **TIGHT, **store_config)
    with first.app_context():
        create_appeal(db.session, slug="test-appeal", title="Test appeal")
        db.session.commit()
    # No context stays pushed: each request has its own, as in a real worker.
    yield first, second
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()


def visitor(app, localstripe, ip):
    return Visitor(app, localstripe, ip, shared_context=False)


def stored_hits(app) -> int:
    from fundraiser.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AbuseHit))


def test_a_block_made_in_one_process_holds_in_another(two_apps, localstripe, store_config):
    first, second = two_apps
    _, charged = visitor(first, localstripe, "203.0.113.7").give(DECLINED, "a@example.org")
    assert charged.get_json()["status"] == "failed"
    # the same address, through the other process: blocked
    again = visitor(second, localstripe, "203.0.113.7").start(email="b@example.org")
    # an hour's block (Redis counts its own seconds, so allow for the one passing)
    assert again.status_code == 429 and 3590 < int(again.headers["Retry-After"]) <= 3600
    # the same card from another address, through the other process: blocked
    other = visitor(second, localstripe, "198.51.100.20")
    _, charged = other.give(DECLINED, "c@example.org")
    assert charged.status_code == 429 and charged.get_json()["status"] == "blocked"
    # that address with another card gives
    _, charged = other.give(VISA, "c@example.org")
    assert charged.get_json()["status"] == "succeeded"
    # and the counts are where they should be
    if store_config:
        assert stored_hits(first) == 0
        assert redis.Redis.from_url(REDIS_URL).keys("*fundraiser:cards:*")
    else:
        assert stored_hits(first) > 0


def test_the_breaker_tripped_in_one_process_pauses_the_other(two_apps, localstripe):
    first, second = two_apps
    _, charged = visitor(first, localstripe, "203.0.113.1").give(DECLINED, "a@example.org")
    assert charged.get_json()["status"] == "failed"
    page = visitor(second, localstripe, "203.0.113.50").client.get("/appeals/test-appeal")
    assert "give-form" in page.data.decode()
    # the second decline, counted by the other process, trips it
    _, charged = visitor(second, localstripe, "203.0.113.2").give(
        "4000000000000341", "b@example.org")
    assert charged.get_json()["status"] == "failed"
    page = visitor(first, localstripe, "203.0.113.51").client.get("/appeals/test-appeal")
    assert "Card gifts to this appeal are paused" in page.data.decode()
