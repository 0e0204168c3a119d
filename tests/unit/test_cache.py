import time

from fundraiser.cache import TTLCache


def test_a_cached_value_is_reused_until_it_expires():
    calls = []
    cache = TTLCache(ttl=0.2)
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cache.get_or_set("k", compute) == 1
    assert cache.get_or_set("k", compute) == 1
    time.sleep(0.25)
    assert cache.get_or_set("k", compute) == 2


def test_clear_and_zero_ttl_always_compute():
    cache = TTLCache(ttl=60)
    cache.get_or_set("k", lambda: "old")
    cache.clear()
    assert cache.get_or_set("k", lambda: "new") == "new"
    nocache = TTLCache(ttl=0)
    assert nocache.get_or_set("k", lambda: 1) == 1
    assert nocache.get_or_set("k", lambda: 2) == 2
