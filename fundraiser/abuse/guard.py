"""Escalation for card attempts, per subject: a client address, a donor email,
a card fingerprint.

Every attempt (a gift started, a card sent, a retry, a pledge, a 3-D Secure
or saved-card confirmation) adds `attempt_cost` to each subject's moving
window; a decline adds `decline_cost` more, so a card tester's declines
weigh far more than an honest donor's successful gifts. Past a subject's
`slow` score each further attempt must wait `slow_seconds`; past its `block`
score the subject is blocked for `block_seconds`.

Subjects are stored as keyed hashes (HMAC with the app's secret): neither
Redis nor the database holds a donor's address, email or card fingerprint.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime

from .store import BLOCKED, SLOW

OK = "ok"
SUBJECTS = ("ip", "email", "card")


@dataclass(frozen=True)
class Policy:
    window_seconds: int = 3600
    attempt_cost: int = 1
    decline_cost: int = 5
    slow_seconds: int = 30
    block_seconds: int = 3600
    # subject -> (score from which each attempt must wait, score that blocks)
    thresholds: dict[str, tuple[int, int]] = field(default_factory=lambda: {
        "ip": (30, 60), "email": (14, 20), "card": (6, 12)})


@dataclass(frozen=True)
class Verdict:
    kind: str = OK                 # ok | slow | blocked
    retry_after: int = 0           # seconds
    subject: str = ""              # which counter said so (for logs, never shown)

    @property
    def ok(self) -> bool:
        return self.kind == OK


def _worse(a: Verdict, b: Verdict) -> Verdict:
    rank = {OK: 0, SLOW: 1, BLOCKED: 2}
    return max(a, b, key=lambda v: (rank[v.kind], v.retry_after))


def subject_keys(secret: str, *, ip: str | None = None, email: str | None = None,
                 card: str | None = None) -> dict[str, str]:
    """The stored key of each subject given: "ip:<hmac>", "email:<hmac>"…"""
    values = {"ip": ip, "email": (email or "").strip().lower() or None, "card": card}
    return {name: f"{name}:" + hmac.new(secret.encode(), f"{name}\0{value}".encode(),
                                        hashlib.sha256).hexdigest()[:40]
            for name, value in values.items() if value}


class CardGuard:
    def __init__(self, store, policy: Policy):
        self.store = store
        self.policy = policy

    def check(self, session, keys: dict[str, str], now: datetime) -> Verdict:
        """Whether the next attempt by these subjects may go ahead."""
        verdict = Verdict()
        for subject, key in keys.items():
            found = self.store.get_block(session, key, now)
            if found:
                verdict = _worse(verdict, Verdict(found[0], found[1], subject))
        return verdict

    def record(self, session, keys: dict[str, str], now: datetime, *,
               declined: bool = False, attempt: bool = True) -> Verdict:
        """Counts an attempt and/or a decline and escalates; returns what the
        subjects' next attempt will meet."""
        p = self.policy
        cost = (p.attempt_cost if attempt else 0) + (p.decline_cost if declined else 0)
        verdict = Verdict()
        for subject, key in keys.items():
            slow_at, block_at = p.thresholds[subject]
            score = self.store.add(session, key, cost, block_at, p.window_seconds, now)
            if score >= block_at:
                self.store.set_block(session, key, BLOCKED, p.block_seconds, now)
                verdict = _worse(verdict, Verdict(BLOCKED, p.block_seconds, subject))
            elif score >= slow_at:
                self.store.set_block(session, key, SLOW, p.slow_seconds, now)
                verdict = _worse(verdict, Verdict(SLOW, p.slow_seconds, subject))
        return verdict
