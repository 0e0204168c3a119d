"""A small per-process cache with a time limit, for figures that many
readers ask for and that may be a second or two old (goal progress).

Each gunicorn worker keeps its own; a worker that applies a payment change
drops its entry at once, the others within `ttl` seconds. Nothing that moves
money reads from here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class TTLCache:
    def __init__(self, ttl: float = 2.0, max_entries: int = 1024):
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get_or_set(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if self.ttl <= 0:
            return compute()
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = compute()
        with self._lock:
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
