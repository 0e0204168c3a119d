"""Builds the card-testing defences from the app's configuration (called
once by create_app); views reach them through app.extensions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .breaker import Breaker, BreakerPolicy
from .guard import CardGuard, Policy
from .store import DbStore, RedisStore


@dataclass(frozen=True)
class Defences:
    guard: CardGuard
    breaker: Breaker
    clock: Callable[[], datetime]
    secret: str
    enabled: bool


def _pair(value) -> tuple[int, int]:
    """"30,60" or (30, 60) → (30, 60): the slow-down and the block score."""
    if isinstance(value, str):
        value = value.split(",")
    slow, block = (int(v) for v in value)
    if not 0 < slow <= block:
        raise ValueError(f"card guard thresholds must be 0 < slow <= block, not {value!r}")
    return slow, block


def init_app(app) -> Defences:
    from ..payments.models import utcnow

    cfg = app.config
    url = cfg.get("REDIS_URL") or ""
    store = RedisStore(url) if url else DbStore()
    policy = Policy(
        window_seconds=int(cfg["CARD_GUARD_WINDOW_SECONDS"]),
        attempt_cost=int(cfg["CARD_GUARD_ATTEMPT_COST"]),
        decline_cost=int(cfg["CARD_GUARD_DECLINE_COST"]),
        slow_seconds=int(cfg["CARD_GUARD_SLOW_SECONDS"]),
        block_seconds=int(cfg["CARD_GUARD_BLOCK_SECONDS"]),
        thresholds={"ip": _pair(cfg["CARD_GUARD_IP"]), "email": _pair(cfg["CARD_GUARD_EMAIL"]),
                    "card": _pair(cfg["CARD_GUARD_CARD"])})
    breaker = BreakerPolicy(
        declines=int(cfg["CARD_BREAKER_DECLINES"]),
        rate_percent=int(cfg["CARD_BREAKER_RATE_PERCENT"]),
        window_seconds=int(cfg["CARD_BREAKER_WINDOW_SECONDS"]),
        cooldown_seconds=int(cfg["CARD_BREAKER_COOLDOWN_SECONDS"]))
    defences = Defences(guard=CardGuard(store, policy), breaker=Breaker(store, breaker),
                        clock=cfg.get("CARD_GUARD_CLOCK") or utcnow,
                        secret=str(cfg["SECRET_KEY"]), enabled=bool(cfg["CARD_GUARD_ENABLED"]))
    app.extensions["fundraiser.card_defences"] = defences
    return defences
