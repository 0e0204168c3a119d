"""The public cache: figures and pages that many readers ask for (the appeal
page, the progress JSON), shared by every app process and host.

Flask-Caching on Redis when `CACHE_REDIS_URL` (else `REDIS_URL`) is set; an
in-process SimpleCache otherwise (the embedded run, one process). Entries
live `PUBLIC_CACHE_SECONDS`.

Invalidation is by versioned keys, so it reaches every host without a
message to any of them: each entry's key carries the current *version* of
its scopes (one per appeal, `appeal:<slug>`, and one for everything, `all`),
kept in the cache itself. After a commit that changes what a scope shows, the
writer gives the scope a new version (`bump`); from then on every host
computes a key nobody has filled yet, so nothing stale is read, and the old
entries expire by themselves. A version is a random token, not a counter, so
a version key lost (evicted, Redis restarted) never comes back as one that
was used before.

A reader reads the versions *before* the database, and a writer bumps *after*
its commit: a reader that saw the old version may store figures under it,
but nobody reads that key again. Nothing that moves money reads from here.
If the cache cannot be reached, pages are computed as if uncached.

No round trip for a warm answer: a key that carries its versions never
names another value, so each process also keeps the last few entries it read
or stored (`LOCAL_ENTRIES`, for the same lifetime), and the versions
themselves while Redis pushes no change of them (cache_watch.py); without
that watch it asks Redis for the versions, one round trip. A bump is seen
on the next request, on this host at once and on others once Redis's push
has crossed the network (cache_watch.py says how long that is).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

ALL = "all"  # the scope every entry belongs to: staff edits bump it
KEY_PREFIX = "fundraiser:public:"  # then the Redis database's number: see key_prefix
IN_PROCESS_SECONDS = 2  # default lifetime when each process has its own cache
SHARED_SECONDS = 60  # default lifetime on Redis, where every change is seen at once
LOCAL_ENTRIES = 256  # versioned entries each process keeps beside Redis


def key_prefix(url: str) -> str:
    """The cache's keys in Redis, named for the database they live in.

    Redis's change pushes (CLIENT TRACKING, fundraiser/cache_watch.py) ignore
    databases: a watch on database 1 hears every SET under its prefix in
    database 2. With the number in the prefix, two sites that share one Redis
    in two databases do not hear each other's changes (only a FLUSHDB, which
    Redis announces to every watch; it costs one round trip, never a stale
    answer)."""
    import redis

    db = redis.ConnectionPool.from_url(url).connection_kwargs.get("db", 0)
    return f"{KEY_PREFIX}{db}:"


def appeal_scope(slug: str) -> str:
    return f"appeal:{slug}"


def _token() -> str:
    return secrets.token_hex(8)


class PublicCache:
    """`get_or_set(key, compute, scope)` and `bump(scope)` over a cachelib
    backend (what Flask-Caching builds); `backend=None` caches nothing."""

    def __init__(self, backend, lifetime: float, shared: bool = False, watch=None):
        self.backend = backend
        self.watch = watch  # cache_watch.VersionWatch: versions without a round trip
        self.lifetime = int(lifetime) if lifetime >= 1 else (1 if lifetime > 0 else 0)
        self.shared = shared
        self._local: OrderedDict[str, tuple[float, tuple]] = OrderedDict()
        self._local_lock = threading.Lock()

    def _local_get(self, full: str) -> tuple | None:
        with self._local_lock:
            found = self._local.get(full)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._local[full]
                return None
            self._local.move_to_end(full)
            return found[1]

    def _local_put(self, full: str, boxed: tuple) -> None:
        if not self.shared:  # the in-process backend is local already
            return
        with self._local_lock:
            self._local[full] = (time.monotonic() + self.lifetime, boxed)
            self._local.move_to_end(full)
            while len(self._local) > LOCAL_ENTRIES:
                self._local.popitem(last=False)

    @property
    def enabled(self) -> bool:
        return self.backend is not None and self.lifetime > 0

    def versions(self, scopes: Iterable[str]) -> str:
        """The current versions of `scopes`, as one string for a key. A scope
        with none yet gets a fresh one (whoever adds it first wins)."""
        scopes = list(scopes)
        if self.watch is not None:
            known = self.watch.current(scopes)
            if known is not None:
                return ".".join(known)
        keys = [f"v:{s}" for s in scopes]
        found = self.backend.get_many(*keys)
        for i, (key, value) in enumerate(zip(keys, found, strict=True)):
            if value is None:
                self.backend.add(key, _token(), timeout=0)
                found[i] = self.backend.get(key)
        found = [str(v) for v in found]
        if self.watch is not None:
            self.watch.remember(scopes, found)
        return ".".join(found)

    def _lookup(self, key: str, scope: str | None) -> tuple[str, tuple | None]:
        """The key under the current versions, and its entry (a 1-tuple) or None."""
        full = f"{key}|{self.versions([ALL] if scope is None else [ALL, scope])}"
        hit = self._local_get(full)
        if hit is None:
            hit = self.backend.get(full)
            if hit is not None:
                self._local_put(full, hit)
        return full, hit

    def peek(self, key: str, scope: str | None = None) -> Any:
        """The value cached for `key` now, or None (none yet, `None` cached,
        or the cache unreachable); never computes (api/fastpath.py)."""
        if not self.enabled:
            return None
        try:
            _full, hit = self._lookup(key, scope)
        except Exception:  # noqa: BLE001 — the caller computes it the usual way
            return None
        return None if hit is None else hit[0]

    def get_or_set(self, key: str, compute: Callable[[], Any], scope: str | None = None) -> Any:
        """The cached value of `key` (under `scope`'s and `all`'s versions), or
        `compute()`'s, stored for the lifetime. `None` is cached too."""
        if not self.enabled:
            return compute()
        try:
            full, hit = self._lookup(key, scope)
        except Exception as exc:  # noqa: BLE001 — Redis away: serve uncached
            log.warning("public cache unavailable (%s); computing %s", exc, key)
            return compute()
        if hit is not None:
            return hit[0]
        value = compute()
        self._local_put(full, (value,))
        try:
            self.backend.set(full, (value,), timeout=self.lifetime)
        except Exception as exc:  # noqa: BLE001
            log.warning("public cache unavailable (%s); %s not stored", exc, key)
        return value

    def bump(self, *scopes: str) -> None:
        """Give `scopes` new versions: their entries are never read again, on
        any host. Call it after the commit that changed them."""
        if self.backend is None:
            return
        for scope in scopes or (ALL,):
            if self.watch is not None:
                self.watch.forget(scope)
            try:
                self.backend.set(f"v:{scope}", _token(), timeout=0)
            except Exception as exc:  # noqa: BLE001 — the commit stands; say so
                log.error("public cache: could not drop %s (%s); pages may be %ss old",
                          scope, exc, self.lifetime)

    def bump_appeals(self, slugs: Iterable[str]) -> None:
        self.bump(*[appeal_scope(s) for s in slugs])

    def clear(self) -> None:
        """Drop everything, on every host (a new version of `all`)."""
        self.bump(ALL)


def init_app(app) -> PublicCache:
    """Build the app's public cache from its configuration and keep it in
    `app.extensions["fundraiser.public_cache"]`."""
    from flask_caching import Cache

    url = app.config.get("CACHE_REDIS_URL") or app.config.get("REDIS_URL") or ""
    lifetime = app.config.get("PUBLIC_CACHE_SECONDS")
    if lifetime in (None, ""):
        lifetime = SHARED_SECONDS if url else IN_PROCESS_SECONDS
    lifetime = float(lifetime)
    backend = None
    prefix = key_prefix(url) if url else KEY_PREFIX
    if url:  # built even with lifetime 0: a worker that caches nothing still bumps
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url,
                  "CACHE_KEY_PREFIX": prefix, "CACHE_DEFAULT_TIMEOUT": max(int(lifetime), 1),
                  "CACHE_OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1}}
    elif lifetime > 0:
        config = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000,
                  "CACHE_DEFAULT_TIMEOUT": max(int(lifetime), 1)}
    else:
        config = None
    if config is not None:
        extension = Cache(app, config=config)
        backend = app.extensions["cache"][extension]
    watch = None
    if url and lifetime > 0 and app.config.get("PUBLIC_CACHE_WATCH", True):
        from .cache_watch import VersionWatch

        watch = VersionWatch(url, f"{prefix}v:")
    cache = PublicCache(backend, lifetime, shared=bool(url), watch=watch)
    app.extensions["fundraiser.public_cache"] = cache
    return cache
