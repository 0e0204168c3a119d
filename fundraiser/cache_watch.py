"""The public cache's versions, kept in each process while Redis says that
none has changed.

A warm answer from the public cache (fundraiser/cache.py) used to cost one
round trip: reading the versions of `all` and of the appeal. Redis can tell
a client when keys change (CLIENT TRACKING, Redis ≥ 6): this process opens
one connection of its own in RESP3, asks for every change to a key under the
versions' prefix (`BCAST PREFIX`), and keeps the versions it has read. Before
each use it reads whatever Redis has pushed since (a non-blocking poll of
that socket, a few microseconds): a version that changed is forgotten, and
read again from Redis by whoever needs it next; `FLUSHDB` or a restart
forgets them all. Redis sends these pushes for every database, so the prefix
names the database (cache.key_prefix), and a `FLUSHDB` of any database
reaches every watch: a round trip more, never a stale answer. Redis writes
the push while it runs the writer's `SET`, so it reaches this process's
socket with the network's latency after the writer hears "OK" (nothing on
one host; well under a millisecond on a LAN), and the next view reads the
new version, without the round trip.

Anything uncertain is a round trip as before: no watch yet in this process
(or a forked one), a connection that failed (tried again after
RETRY_SECONDS), a version not read yet. redis-py's own client-side cache
does this too, but only against Redis ≥ 7.4; this machine has 7.0.
"""

from __future__ import annotations

import logging
import os
import threading
import time

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


class VersionWatch:
    """Versions by scope, for as long as Redis sends no change of them."""

    def __init__(self, url: str, prefix: str):
        self.url = url
        self.prefix = prefix  # the versions' key prefix in Redis: key = prefix + scope
        self._known: dict[str, str] = {}
        self._conn = None
        self._pid = None
        self._retry_at = 0.0
        self._failing = False  # a failure to connect was logged already
        self._lock = threading.Lock()  # one reader of the socket at a time

    def current(self, scopes: list[str]) -> list[str] | None:
        """The versions of `scopes` as last read, if the watch is live and
        knows them all and none changed since; else None (read Redis)."""
        with self._lock:
            if not self._poll():
                return None
            found = [self._known.get(s) for s in scopes]
        return None if None in found else found

    def remember(self, scopes: list[str], values: list) -> None:
        """Versions just read from Redis. A change that Redis makes after
        that read is pushed, and the next poll forgets it again."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                for scope, value in zip(scopes, values, strict=True):
                    if value is not None:
                        self._known[scope] = value

    def forget(self, scope: str) -> None:
        """This process changed `scope`'s version: not known here from now
        on, before Redis even says so."""
        with self._lock:
            self._known.pop(scope, None)

    def live(self) -> bool:
        with self._lock:
            return self._poll()

    def _poll(self) -> bool:
        """Read every pushed change; False when the watch is not live."""
        if self._conn is None or self._pid != os.getpid():
            if time.monotonic() < self._retry_at:
                return False
            self._connect()
            return self._conn is not None
        try:
            while self._conn.can_read(timeout=0):
                self._conn.read_response(push_request=True)
        except Exception as exc:  # noqa: BLE001 — round trips until it is back
            log.warning("public cache: version watch lost (%s); reading Redis", exc)
            self._drop()
            return False
        return True

    def _connect(self) -> None:
        import redis

        self._drop()
        try:
            pool = redis.ConnectionPool.from_url(self.url, protocol=3, socket_timeout=1,
                                                 socket_connect_timeout=1)
            conn = pool.get_connection()
            conn._parser.set_invalidation_push_handler(self._changed)
            conn.send_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", self.prefix)
            if conn.read_response() not in (b"OK", "OK"):
                raise redis.RedisError("CLIENT TRACKING refused")
        except Exception as exc:  # noqa: BLE001 — Redis away or too old: round trips
            # Said once per outage, not at every retry.
            (log.debug if self._failing else log.warning)(
                "public cache: no version watch (%s); reading Redis", exc)
            self._failing = True
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return
        self._conn, self._pid, self._failing = conn, os.getpid(), False

    def _changed(self, push):
        """Redis's push: ["invalidate", [keys]], or ["invalidate", None]
        when the database was flushed."""
        keys = push[1] if len(push) > 1 else None
        if keys is None:
            self._known.clear()
        else:
            for key in keys:
                key = key.decode() if isinstance(key, bytes) else key
                self._known.pop(key.removeprefix(self.prefix), None)
        return push

    def _drop(self) -> None:
        """Forget the connection and everything it vouched for."""
        conn, self._conn = self._conn, None
        self._known.clear()
        if conn is not None and self._pid == os.getpid():
            try:
                conn.disconnect()
            except Exception:  # noqa: BLE001, S110 — closing a broken socket
                pass
        self._retry_at = time.monotonic() + RETRY_SECONDS
