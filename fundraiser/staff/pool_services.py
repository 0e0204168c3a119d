"""Match pools as staff set them: one set of checks for a pool's terms
(PoolTerms), used when a pool is made and whenever it is changed, and the
audit row for each. The locking and the ledger are matching/'s.

Services take the session and plain values, flush, and never commit."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import datetime

from ..appeals.models import Appeal
from ..limits import DEFAULT as DEFAULT_LIMITS
from ..limits import Limits
from ..matching import rules
from ..matching import services as matching
from ..matching.models import MONTHLY_ONCE, MONTHLY_X12, MatchPool
from ..money import Money
from .models import StaffUser
from .services import audit


class PoolError(ValueError):
    """A pool change a staff member asked for that cannot be made (the code
    is a short English reason; the view turns it into a sentence)."""


# Windows outside these years are typos (and beyond what every database stores alike).
POOL_YEARS = (2000, 2100)


def _check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    for when in (starts_at, ends_at):
        if when is not None and not POOL_YEARS[0] <= when.year <= POOL_YEARS[1]:
            raise PoolError("window out of range")
    if starts_at and ends_at and ends_at <= starts_at:
        raise PoolError("the pool must end after it starts")


def _check_cap(cap_minor: int, largest: Money) -> None:
    """A cap above the app's largest figure is a typo (and, summed, an overflow)."""
    if cap_minor <= 0:
        raise PoolError("cap must be positive")
    if cap_minor > largest.minor:
        raise PoolError("cap too large")


# Characters that may not be in a sponsor's name: control characters, line
# breaks, and the bidi embeddings, overrides and isolates that would reorder
# the text around the name on the public pages.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _check_sponsor(sponsor_name: str, anonymous: bool) -> None:
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS
           for ch in sponsor_name):
        raise PoolError("sponsor name has control characters")
    if len(sponsor_name) > MatchPool.sponsor_name.type.length:
        raise PoolError("sponsor name too long")
    if not anonymous and not sponsor_name:
        raise PoolError("name the sponsor or make the pool anonymous")


@dataclass(frozen=True)
class PoolTerms:
    """What staff set on a match pool, checked the same way when the pool is
    made and whenever it is changed."""

    sponsor_name: str
    anonymous: bool
    ratio: tuple[int, int]
    cap_minor: int
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    per_gift_limit_minor: int | None = None
    min_gift_minor: int = 0
    first_time_only: bool = False
    monthly_rule: str = MONTHLY_ONCE

    @classmethod
    def of(cls, pool: MatchPool) -> PoolTerms:
        return cls(sponsor_name=pool.sponsor_name, anonymous=pool.is_anonymous,
                   ratio=(pool.ratio_match, pool.ratio_gift), cap_minor=pool.cap_minor,
                   starts_at=pool.starts_at, ends_at=pool.ends_at,
                   per_gift_limit_minor=pool.per_gift_limit_minor,
                   min_gift_minor=pool.min_gift_minor, first_time_only=pool.first_time_only,
                   monthly_rule=pool.monthly_rule)

    def checked(self, currency: str, limits: Limits = DEFAULT_LIMITS) -> PoolTerms:
        """These terms with the sponsor's name trimmed, or PoolError. Amounts
        are bounded by the app's limits (MAX_AMOUNT_MAJOR)."""
        largest = limits.largest(currency)
        terms = replace(self, sponsor_name=(self.sponsor_name or "").strip())
        _check_sponsor(terms.sponsor_name, terms.anonymous)
        if not rules.ratio_ok(*terms.ratio):
            raise PoolError("ratio out of range")
        _check_cap(terms.cap_minor, largest)
        _check_window(terms.starts_at, terms.ends_at)
        if terms.per_gift_limit_minor is not None:
            if terms.per_gift_limit_minor <= 0:
                raise PoolError("per-gift limit must be positive")
            if terms.per_gift_limit_minor > terms.cap_minor:
                raise PoolError("per-gift limit above the cap")
        if not 0 <= terms.min_gift_minor <= largest.minor:
            raise PoolError("minimum gift out of range")
        if terms.monthly_rule not in (MONTHLY_ONCE, MONTHLY_X12):
            raise PoolError("monthly rule unknown")
        return terms

    def columns(self) -> dict:
        """The terms as MatchPool columns (matching.POOL_TERMS)."""
        return dict(sponsor_name=self.sponsor_name, is_anonymous=self.anonymous,
                    ratio_match=self.ratio[0], ratio_gift=self.ratio[1],
                    cap_minor=self.cap_minor, starts_at=self.starts_at, ends_at=self.ends_at,
                    per_gift_limit_minor=self.per_gift_limit_minor,
                    min_gift_minor=self.min_gift_minor, first_time_only=self.first_time_only,
                    monthly_rule=self.monthly_rule)

    def audit_values(self) -> dict:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["ratio"] = rules.ratio_text(*self.ratio)
        return values


def create_match_pool(session, *, appeal: Appeal, actor: StaffUser, ip: str = "",
                      limits: Limits = DEFAULT_LIMITS, **terms) -> MatchPool:
    """A sponsor's pool on an appeal, in the appeal's currency, and its audit
    row. `terms` are PoolTerms' fields."""
    checked = PoolTerms(**terms).checked(appeal.currency, limits)
    try:
        pool = matching.create_pool(
            session, appeal_id=appeal.id, currency=appeal.currency,
            cap_minor=checked.cap_minor, ratio=checked.ratio,
            sponsor_name=checked.sponsor_name, anonymous=checked.anonymous,
            starts_at=checked.starts_at, ends_at=checked.ends_at,
            per_gift_limit_minor=checked.per_gift_limit_minor,
            min_gift_minor=checked.min_gift_minor, first_time_only=checked.first_time_only,
            monthly_rule=checked.monthly_rule)
    except matching.MatchingError as exc:
        raise PoolError(str(exc)) from exc
    audit(session, actor, "pool.created", "match_pool", pool.id, ip=ip, appeal=appeal.slug,
          currency=pool.currency, **PoolTerms.of(pool).audit_values())
    return pool


def change_match_pool(session, pool_id: int, *, actor: StaffUser, ip: str = "",
                      limits: Limits = DEFAULT_LIMITS, **changes) -> dict:
    """Change any of a pool's terms (PoolTerms' fields; those not given stay).
    The change applies to gifts from now on: the ledger is never rewritten,
    and a refund of an earlier gift reverses exactly what it was matched.

    The pool is read under the row lock a gift's allocation takes, so a
    change and a gift being matched wait for each other and the change is
    judged against the pool as it is. All or nothing: a refused part raises
    PoolError before anything is written. Returns {field: [old, new]} for
    what changed ({} when nothing did, and then nothing is audited)."""
    pool = matching.lock_pool(session, pool_id)
    if pool is None:
        raise PoolError("no such pool")
    before = PoolTerms.of(pool)
    after = replace(before, **changes).checked(pool.currency, limits)
    if after == before:
        return {}
    try:
        matching.change_pool(session, pool.id, **after.columns())
    except matching.MatchingError as exc:
        raise PoolError("cap below matched" if after.cap_minor < before.cap_minor
                        else str(exc)) from exc
    old, new = before.audit_values(), after.audit_values()
    changed = {name: [old[name], new[name]] for name in new if old[name] != new[name]}
    audit(session, actor, "pool.changed", "match_pool", pool.id, ip=ip,
          currency=pool.currency, **changed)
    return changed
