"""The public cache's versioned keys (fundraiser/cache.py), on an
in-process backend: a bump makes every entry of the scope unreadable."""

import time

from cachelib import SimpleCache

from fundraiser.cache import PublicCache, appeal_scope


def counting():
    calls = []
    return calls, (lambda: calls.append(1) or len(calls))


def test_a_cached_value_is_reused_until_it_expires():
    calls, compute = counting()
    cache = PublicCache(SimpleCache(), lifetime=1)
    assert cache.get_or_set("k", compute) == 1
    assert cache.get_or_set("k", compute) == 1
    time.sleep(1.1)
    assert cache.get_or_set("k", compute) == 2


def test_a_bump_drops_its_appeal_only_and_clear_drops_all():
    cache = PublicCache(SimpleCache(), lifetime=60)
    a, b = appeal_scope("a"), appeal_scope("b")
    cache.get_or_set("ka", lambda: "old a", a)
    cache.get_or_set("kb", lambda: "old b", b)
    cache.bump(a)
    assert cache.get_or_set("ka", lambda: "new a", a) == "new a"
    assert cache.get_or_set("kb", lambda: "new b", b) == "old b"
    cache.clear()
    assert cache.get_or_set("kb", lambda: "newer b", b) == "newer b"


def test_none_is_cached_and_zero_lifetime_or_no_backend_always_compute():
    calls, compute = counting()
    cache = PublicCache(SimpleCache(), lifetime=60)
    assert cache.get_or_set("missing", lambda: calls.append(1)) is None
    assert cache.get_or_set("missing", lambda: calls.append(1)) is None
    assert calls == [1]
    for nocache in (PublicCache(SimpleCache(), lifetime=0), PublicCache(None, lifetime=60)):
        assert nocache.get_or_set("k", lambda: 1) == 1
        assert nocache.get_or_set("k", lambda: 2) == 2
        nocache.bump("all")  # harmless


class Unreachable(SimpleCache):
    def get_many(self, *keys):
        raise ConnectionError("Redis is down")

    def set(self, *a, **k):
        raise ConnectionError("Redis is down")


def test_an_unreachable_cache_serves_uncached_pages():
    cache = PublicCache(Unreachable(), lifetime=60)
    assert cache.get_or_set("k", lambda: 1) == 1
    assert cache.get_or_set("k", lambda: 2) == 2
    cache.bump(appeal_scope("a"))  # logged, never raised
