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


class Counting(SimpleCache):
    """A backend shared by several PublicCaches (as Redis is by several
    processes) that counts the round trips each kind of call would make."""

    def __init__(self):
        super().__init__()
        self.trips = []

    def get_many(self, *keys):
        self.trips.append("get_many")  # one MGET on Redis
        return [SimpleCache.get(self, k) for k in keys]

    def get(self, key):
        self.trips.append("get")
        return super().get(key)


def test_a_warm_shared_answer_costs_one_round_trip_and_a_bump_elsewhere_is_seen_at_once():
    redis_like = Counting()
    host_a = PublicCache(redis_like, lifetime=60, shared=True)
    host_b = PublicCache(redis_like, lifetime=60, shared=True)
    scope = appeal_scope("a")
    assert host_a.get_or_set("k", lambda: "figures 1", scope) == "figures 1"
    assert host_b.get_or_set("k", lambda: "never", scope) == "figures 1"  # read from the store
    redis_like.trips.clear()
    for _ in range(5):
        assert host_a.get_or_set("k", lambda: "never", scope) == "figures 1"
    assert redis_like.trips == ["get_many"] * 5  # the versions only
    host_b.bump(scope)  # a gift committed on the other host
    assert host_a.get_or_set("k", lambda: "figures 2", scope) == "figures 2"


def test_the_local_copies_expire_with_the_lifetime_and_stay_few():
    from fundraiser import cache as cache_module

    host = PublicCache(Counting(), lifetime=1, shared=True)
    host.get_or_set("k", lambda: "old")
    time.sleep(1.1)
    assert host.get_or_set("k", lambda: "new") == "new"
    for i in range(cache_module.LOCAL_ENTRIES + 50):
        host.get_or_set(f"k{i}", lambda i=i: i)
    assert len(host._local) == cache_module.LOCAL_ENTRIES
