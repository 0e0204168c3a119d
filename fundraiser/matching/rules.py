"""Matching rules: pure functions over plain values. No database, no clock.

Matching rounding rule
----------------------
All amounts are integer minor units of one currency (cents for USD, agorot
for ILS, yen for JPY — whatever Babel says the currency's smallest unit is);
a pool only matches gifts in its own currency, so no conversion happens here.

* A match is rounded **down** to the currency's minor unit:
  ``match = floor(base × ratio_match / ratio_gift)``. A sponsor never pays a
  fraction of a unit more than their ratio promises; the fraction is not
  matched (it is not invented, and nobody owes it).
* When a pool runs short, the gift is matched with whatever is left (never
  more), and the part of the gift that this covered is
  ``ceil(take × ratio_gift / ratio_match)``, so the next pool in order matches
  only the rest.
* A refund reverses matches in proportion, computed from the **cumulative**
  refund, never per event: an allocation of ``A`` made when the gift's net
  amount was ``basis`` keeps ``floor(A × net_now / basis)``; the reversal is
  the difference between what is still allocated and that. Rounding down what
  is kept means the pool gets the fraction back, every partial refund is
  consistent with the ones before, and a full refund reverses exactly ``A`` —
  no unit is lost or invented however the refunds are split.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_DATETIME = datetime(9999, 12, 31)
RATIO_MAX = 1000           # either side of a ratio; more is a typo


@dataclass(frozen=True)
class Gift:
    """What matching needs to know about one gift."""

    amount_minor: int          # the gift's net amount now (after refunds)
    currency: str
    at: datetime               # when the gift succeeded
    email: str = ""
    is_first_time: bool = True
    is_monthly: bool = False   # an instalment of a monthly gift (not a yearly one)


@dataclass(frozen=True)
class Source:
    """A pool or a pledge, as far as the rules care."""

    kind: str                  # "pool" | "pledge"
    id: int
    currency: str
    remaining_minor: int
    ratio_match: int = 1
    ratio_gift: int = 1
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    per_gift_limit_minor: int | None = None
    min_gift_minor: int = 0
    first_time_only: bool = False
    monthly_rule: str = "once"
    owner_email: str = ""      # a pledger's own gifts are not matched by their pledge


@dataclass(frozen=True)
class Step:
    source: Source
    take_minor: int            # matching money drawn from the source
    covered_minor: int         # the part of the gift this matched


# -- single rules -------------------------------------------------------------

def ratio_text(ratio_match: int, ratio_gift: int) -> str:
    return f"{ratio_match}:{ratio_gift}"


def parse_ratio(text: str) -> tuple[int, int]:
    """'2:1' → (2, 1). Both sides positive integers, at most RATIO_MAX."""
    left, sep, right = (text or "").strip().partition(":")
    if not sep or not left.strip().isdigit() or not right.strip().isdigit():
        raise ValueError("a ratio looks like 1:1, 2:1 or 1:2")
    m, g = int(left), int(right)
    if not ratio_ok(m, g):
        raise ValueError("a ratio looks like 1:1, 2:1 or 1:2")
    return m, g


def ratio_ok(ratio_match: int, ratio_gift: int) -> bool:
    return 0 < ratio_match <= RATIO_MAX and 0 < ratio_gift <= RATIO_MAX


def match_for(base_minor: int, ratio_match: int, ratio_gift: int) -> int:
    """The match a base earns at a ratio, rounded down to the minor unit."""
    if base_minor <= 0:
        return 0
    return base_minor * ratio_match // ratio_gift


def covered_by(take_minor: int, base_minor: int, ratio_match: int, ratio_gift: int) -> int:
    """The smallest part of `base` whose match is at least `take` (ceil)."""
    if take_minor <= 0:
        return 0
    return min(base_minor, -(-take_minor * ratio_gift // ratio_match))


def matchable_base(gift_minor: int, is_monthly: bool, monthly_rule: str) -> int:
    """A monthly gift counts once, or as a year of gifts (×12), by the pool's
    rule. A yearly gift is not "monthly" here (is_monthly is False for it):
    it already is a year of gifts, so it counts once under either rule —
    ×12 would match twelve years of it."""
    if is_monthly and monthly_rule == "x12":
        return gift_minor * 12
    return gift_minor


def window_open(starts_at: datetime | None, ends_at: datetime | None, at: datetime) -> bool:
    """Open from starts_at (inclusive) until ends_at (exclusive)."""
    return (starts_at is None or at >= starts_at) and (ends_at is None or at < ends_at)


def first_time_ok(first_time_only: bool, is_first_time: bool) -> bool:
    return is_first_time or not first_time_only


def minimum_ok(gift_minor: int, min_gift_minor: int) -> bool:
    return gift_minor >= min_gift_minor


def eligible(source: Source, gift: Gift) -> bool:
    return (source.currency == gift.currency
            and gift.amount_minor > 0
            and window_open(source.starts_at, source.ends_at, gift.at)
            and first_time_ok(source.first_time_only, gift.is_first_time)
            and minimum_ok(gift.amount_minor, source.min_gift_minor)
            and not (source.owner_email and source.owner_email == gift.email.lower()))


def draw_order(source: Source) -> tuple:
    """Pledges first (the friend chose that link); then pools ending soonest
    (a pool about to close is used before it lapses), then the oldest id."""
    return (0 if source.kind == "pledge" else 1, source.ends_at or MAX_DATETIME, source.id)


def wanted(source: Source, base_left: int, gift: Gift) -> int:
    """What this source would give for the rest of the gift, before it is
    checked against what the source has left."""
    base = matchable_base(base_left, gift.is_monthly, source.monthly_rule)
    want = match_for(base, source.ratio_match, source.ratio_gift)
    if source.per_gift_limit_minor is not None:
        want = min(want, source.per_gift_limit_minor)
    return want


def covered(source: Source, take: int, base_left: int, gift: Gift) -> int:
    """The part of the gift a draw of `take` used up. A draw cut short by the
    source's remaining amount or by its per-gift limit leaves the rest of the
    gift to the next source."""
    full = match_for(matchable_base(base_left, gift.is_monthly, source.monthly_rule),
                     source.ratio_match, source.ratio_gift)
    if take >= full:
        return base_left
    if gift.is_monthly and source.monthly_rule == "x12" and take:
        # the pool counted the gift ×12: map back to the monthly amount
        return min(base_left, -(-covered_by(take, base_left * 12, source.ratio_match,
                                            source.ratio_gift) // 12))
    return covered_by(take, base_left, source.ratio_match, source.ratio_gift)


def plan(gift: Gift, sources: list[Source]) -> list[Step]:
    """Match a gift against sources in draw order, each unit of the gift at
    most once. Used for the preview; the real allocation repeats the same
    steps under row locks, with the remaining amounts it finds there."""
    steps = []
    base_left = gift.amount_minor
    for source in sorted(sources, key=draw_order):
        if base_left <= 0:
            break
        if not eligible(source, gift):
            continue
        want = wanted(source, base_left, gift)
        take = max(0, min(want, source.remaining_minor))
        if take <= 0:
            continue
        steps.append(Step(source, take, covered(source, take, base_left, gift)))
        base_left -= steps[-1].covered_minor
    return steps


def kept_after_refund(allocated_minor: int, basis_minor: int, net_now_minor: int) -> int:
    """How much of an allocation stays after refunds (see the rounding rule)."""
    if basis_minor <= 0 or net_now_minor <= 0:
        return 0
    if net_now_minor >= basis_minor:
        return allocated_minor
    return allocated_minor * net_now_minor // basis_minor
