"""A decline-rate breaker per appeal. When, within `window_seconds`, an
appeal's card declines reach `declines` and make at least `rate_percent` of
its card attempts, card gifts to it pause: no new card form until an admin
resets it or `cooldown_seconds` pass. The trip announces itself once
(signals.card_breaker_tripped), so staff are emailed once per trip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .. import signals
from .models import CardBreaker

COUNT_LIMIT = 100_000  # an appeal's window is never "full": we only read its count


@dataclass(frozen=True)
class BreakerPolicy:
    declines: int = 20
    rate_percent: int = 50
    window_seconds: int = 600
    cooldown_seconds: int = 3600


def _attempts(appeal_id: int) -> str:
    return f"appeal:{appeal_id}:attempts"


def _declines(appeal_id: int) -> str:
    return f"appeal:{appeal_id}:declines"


class Breaker:
    def __init__(self, store, policy: BreakerPolicy):
        self.store = store
        self.policy = policy

    def note_attempt(self, session, appeal_id: int, now: datetime) -> None:
        self.store.add(session, _attempts(appeal_id), 1, COUNT_LIMIT,
                       self.policy.window_seconds, now)

    def note_decline(self, session, appeal_id: int, now: datetime) -> bool:
        """Counts a decline; True if it tripped the breaker (this call, once)."""
        p = self.policy
        declines = self.store.add(session, _declines(appeal_id), 1, COUNT_LIMIT,
                                  p.window_seconds, now)
        attempts = self.store.count(session, _attempts(appeal_id), COUNT_LIMIT,
                                    p.window_seconds, now)
        if declines < p.declines or declines * 100 < p.rate_percent * max(attempts, declines):
            return False
        return self._trip(session, appeal_id, declines, now)

    def _trip(self, session, appeal_id: int, declines: int, now: datetime) -> bool:
        resets_at = now + timedelta(seconds=self.policy.cooldown_seconds)
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        created = session.execute(
            insert(CardBreaker).values(appeal_id=appeal_id, tripped_at=now, resets_at=resets_at,
                                       declines=declines, paused=True, trips=1)
            .on_conflict_do_nothing(index_elements=["appeal_id"])
            .returning(CardBreaker.appeal_id)).scalar() is not None
        if not created:
            # Conditional: of two processes tripping it at once, one wins.
            created = session.execute(
                update(CardBreaker)
                .where(CardBreaker.appeal_id == appeal_id,
                       or_(CardBreaker.paused.is_(False), CardBreaker.resets_at <= now))
                .values(tripped_at=now, resets_at=resets_at, declines=declines, paused=True,
                        trips=CardBreaker.trips + 1, reset_at=None, reset_by=None)
            ).rowcount == 1
        session.flush()
        if created:
            signals.card_breaker_tripped.send(None, appeal_id=appeal_id, declines=declines,
                                              resets_at=resets_at, session=session)
        return created

    def paused(self, session, appeal_id: int, now: datetime) -> CardBreaker | None:
        """The breaker while it pauses this appeal's card gifts, else None
        (after the cool-down it no longer pauses anything)."""
        return session.scalar(select(CardBreaker).where(
            CardBreaker.appeal_id == appeal_id, CardBreaker.paused.is_(True),
            CardBreaker.resets_at > now))

    def all_paused(self, session, now: datetime) -> list[CardBreaker]:
        return list(session.scalars(select(CardBreaker).where(
            CardBreaker.paused.is_(True), CardBreaker.resets_at > now)
            .order_by(CardBreaker.tripped_at)))

    def reset(self, session, appeal_id: int, now: datetime, by: str) -> bool:
        """An admin resumes card gifts; the counts start again from nothing."""
        changed = session.execute(
            update(CardBreaker)
            .where(CardBreaker.appeal_id == appeal_id, CardBreaker.paused.is_(True),
                   CardBreaker.resets_at > now)
            .values(paused=False, reset_at=now, reset_by=by[:254])).rowcount == 1
        for key in (_attempts(appeal_id), _declines(appeal_id)):
            self.store.clear(session, key, COUNT_LIMIT, self.policy.window_seconds)
        session.flush()
        return changed
