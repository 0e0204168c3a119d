"""Two stores with one shape: weighted moving-window scores and timed blocks.

RedisStore (REDIS_URL set) uses the `limits` library that Flask-Limiter is
built on: its moving window on Redis is atomic (a Lua script) and shared by
every process and host. DbStore is the fallback for the embedded run: rows in
the database that every process already shares (an in-memory store would
count each worker apart, and an attacker would get workers × the limit).

`now` comes from the caller's clock. RedisStore's windows and blocks run on
real time (limits reads time.time(), Redis expires keys itself); tests that
travel in time use the database store.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from .models import AbuseBlock, AbuseHit

SLOW, BLOCKED = "slow", "blocked"
# Rows of subjects never seen again are swept now and then; no window is longer.
SWEEP_AFTER = timedelta(days=1)
SWEEP_EVERY = 256  # inserts


class DbStore:
    def add(self, session, key: str, cost: int, limit: int, window: int,
            now: datetime) -> int:
        """Adds `cost` to `key`'s moving window; returns the window's score."""
        cutoff = now - timedelta(seconds=window)
        session.execute(delete(AbuseHit).where(AbuseHit.key == key, AbuseHit.at <= cutoff))
        hit = AbuseHit(key=key, at=now, cost=cost)
        session.add(hit)
        session.flush()
        if hit.id % SWEEP_EVERY == 0:
            session.execute(delete(AbuseHit).where(AbuseHit.at <= now - SWEEP_AFTER))
            session.execute(delete(AbuseBlock).where(AbuseBlock.until <= now))
        return self.count(session, key, limit, window, now)

    def count(self, session, key: str, limit: int, window: int, now: datetime) -> int:
        cutoff = now - timedelta(seconds=window)
        return int(session.scalar(select(func.coalesce(func.sum(AbuseHit.cost), 0))
                                  .where(AbuseHit.key == key, AbuseHit.at > cutoff)))

    def set_block(self, session, key: str, kind: str, seconds: int, now: datetime) -> None:
        until = now + timedelta(seconds=seconds)
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Two processes may block one subject at once: insert or keep, then
        # change the row under its lock.
        session.execute(insert(AbuseBlock).values(key=key, kind=kind, until=until)
                        .on_conflict_do_nothing(index_elements=["key"]))
        row = session.get(AbuseBlock, key, with_for_update=True, populate_existing=True)
        if row.until <= now:                       # an old block, over: start afresh
            row.kind, row.until = kind, until
        elif kind == BLOCKED or row.kind != BLOCKED:
            # Never shortens a block: an hour's block is not cut to a short wait.
            row.kind = BLOCKED if BLOCKED in (kind, row.kind) else kind
            row.until = max(row.until, until)
        session.flush()

    def get_block(self, session, key: str, now: datetime) -> tuple[str, int] | None:
        """(kind, seconds left) while `key` is told to wait or blocked."""
        row = session.scalar(select(AbuseBlock).where(AbuseBlock.key == key,
                                                      AbuseBlock.until > now))
        if row is None:
            return None
        return row.kind, max(1, int((row.until - now).total_seconds() + 0.999))

    def clear(self, session, key: str, limit: int, window: int) -> None:
        session.execute(delete(AbuseHit).where(AbuseHit.key == key))
        session.execute(delete(AbuseBlock).where(AbuseBlock.key == key))
        session.flush()


class RedisStore:
    def __init__(self, url: str, prefix: str = "fundraiser:cards:"):
        from limits import RateLimitItemPerSecond
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter

        self._item = RateLimitItemPerSecond
        self.storage = storage_from_string(url)
        self.windows = MovingWindowRateLimiter(self.storage)
        self.prefix = prefix

    def _limit(self, limit: int, window: int):
        return self._item(max(1, limit), window)

    def add(self, session, key: str, cost: int, limit: int, window: int,
            now: datetime) -> int:
        item = self._limit(limit, window)
        if not self.windows.hit(item, self.prefix + key, cost=cost):
            return item.amount + cost  # the window is full: past the limit
        return item.amount - self.windows.get_window_stats(item, self.prefix + key).remaining

    def count(self, session, key: str, limit: int, window: int, now: datetime) -> int:
        item = self._limit(limit, window)
        return item.amount - self.windows.get_window_stats(item, self.prefix + key).remaining

    def _name(self, key: str, kind: str) -> str:
        return f"{self.prefix}{kind}:{key}"

    def set_block(self, session, key: str, kind: str, seconds: int, now: datetime) -> None:
        if kind == SLOW and self.get_block(session, key, now):
            return  # a wait never shortens or replaces a block
        name = self._name(key, kind)
        if self.storage.get(name) and self.storage.get_expiry(name) >= time.time() + seconds:
            return
        self.storage.clear(name)
        self.storage.incr(name, seconds)

    def get_block(self, session, key: str, now: datetime) -> tuple[str, int] | None:
        for kind in (BLOCKED, SLOW):
            name = self._name(key, kind)
            if self.storage.get(name):
                left = self.storage.get_expiry(name) - time.time()
                if left > 0:
                    return kind, max(1, int(left + 0.999))
        return None

    def clear(self, session, key: str, limit: int, window: int) -> None:
        for kind in (BLOCKED, SLOW):
            self.storage.clear(self._name(key, kind))
        self.windows.clear(self._limit(limit, window), self.prefix + key)
