"""Match pools and friend pledges (DESIGN §5): making and changing a pool,
making a pledge and finding pools and pledges. Matching a gift and undoing
it is `ledger.py`; saved-card pledges are `card_pledges.py`; read-only
totals and previews are `figures.py`.

Services take the session and flush; they never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm.util import identity_key

from ..money import check_currency
from . import rules
from .models import (
    CARD_SAVED,
    MONTHLY_ONCE,
    MONTHLY_X12,
    PAY_NOW,
    PLEDGE_ACTIVE,
    PLEDGE_CLOSED,
    PLEDGE_PENDING,
    MatchPledge,
    MatchPool,
)


class MatchingError(ValueError):
    pass


# -- pools --------------------------------------------------------------------

def _check_pool(*, ratio_match: int, ratio_gift: int, cap_minor: int,
                per_gift_limit_minor: int | None, starts_at: datetime | None,
                ends_at: datetime | None, monthly_rule: str, sponsor_name: str,
                is_anonymous: bool, **_other) -> None:
    """What every pool must be, on creation and after any change."""
    if not rules.ratio_ok(ratio_match, ratio_gift):
        raise MatchingError(f"ratio must be two whole numbers from 1 to {rules.RATIO_MAX}")
    if cap_minor <= 0:
        raise MatchingError("cap must be positive")
    if per_gift_limit_minor is not None and per_gift_limit_minor <= 0:
        raise MatchingError("per-gift limit must be positive")
    if starts_at and ends_at and ends_at <= starts_at:
        raise MatchingError("the pool must end after it starts")
    if monthly_rule not in (MONTHLY_ONCE, MONTHLY_X12):
        raise MatchingError("monthly rule is 'once' or 'x12'")
    if not is_anonymous and not sponsor_name.strip():
        raise MatchingError("name the sponsor or make the pool anonymous")


def create_pool(session, *, appeal_id: int, currency: str, cap_minor: int,
                ratio: tuple[int, int] = (1, 1), sponsor_name: str = "",
                anonymous: bool = False, starts_at: datetime | None = None,
                ends_at: datetime | None = None, per_gift_limit_minor: int | None = None,
                min_gift_minor: int = 0, first_time_only: bool = False,
                monthly_rule: str = MONTHLY_ONCE) -> MatchPool:
    currency = check_currency(currency)
    m, g = ratio
    terms = dict(ratio_match=m, ratio_gift=g, cap_minor=cap_minor,
                 sponsor_name=sponsor_name.strip()[:120], is_anonymous=anonymous,
                 starts_at=starts_at, ends_at=ends_at,
                 per_gift_limit_minor=per_gift_limit_minor, min_gift_minor=min_gift_minor,
                 first_time_only=first_time_only, monthly_rule=monthly_rule)
    _check_pool(**terms)
    pool = MatchPool(appeal_id=appeal_id, currency=currency, remaining_minor=cap_minor, **terms)
    session.add(pool)
    session.flush()
    return pool


# What may change on a pool after it is made (its appeal and currency may not).
POOL_TERMS = ("sponsor_name", "is_anonymous", "ratio_match", "ratio_gift", "cap_minor",
              "starts_at", "ends_at", "per_gift_limit_minor", "min_gift_minor",
              "first_time_only", "monthly_rule")


def lock_pool(session, pool_id: int) -> MatchPool | None:
    """The pool, read afresh under the row lock an allocation takes, so a
    change and a gift being matched wait for each other."""
    return session.scalar(select(MatchPool).where(MatchPool.id == pool_id)
                          .with_for_update(key_share=True)
                          .execution_options(populate_existing=True))


def change_pool(session, pool_id: int, **changes) -> dict[str, list]:
    """Change a pool's terms (any of POOL_TERMS) for gifts from now on, under
    its row lock. The ledger is not touched: each allocation keeps its own
    amount and basis, so a later refund reverses exactly what was matched,
    at whatever ratio that was. A cap may go down only to what is matched
    (a conditional UPDATE; remaining moves with it). Returns {term: [old,
    new]} for what changed."""
    unknown = set(changes) - set(POOL_TERMS)
    if unknown:
        raise TypeError(f"not a pool term: {', '.join(sorted(unknown))}")
    pool = lock_pool(session, pool_id)
    if pool is None:
        raise MatchingError("no such pool")
    before = {name: getattr(pool, name) for name in POOL_TERMS}
    _check_pool(**{**before, **changes})
    changed = {name: [before[name], value] for name, value in changes.items()
               if value != before[name]}
    if not changed:
        return {}
    values = {name: new for name, (_old, new) in changed.items()}
    stmt = update(MatchPool).where(MatchPool.id == pool_id)
    if "cap_minor" in values:
        cap = values["cap_minor"]
        stmt = stmt.where(MatchPool.cap_minor - MatchPool.remaining_minor <= cap)
        values["remaining_minor"] = MatchPool.remaining_minor + (cap - MatchPool.cap_minor)
    result = session.execute(stmt.values(**values)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise MatchingError("the cap cannot be lower than what is already matched")
    expire_row(session, MatchPool, pool_id)
    return changed


def expire_row(session, model, row_id):
    """Counters are changed by UPDATE statements; forget any stale copy."""
    obj = session.identity_map.get(identity_key(model, row_id))
    if obj is not None:
        session.expire(obj)


def pools_for(session, appeal_id: int) -> list[MatchPool]:
    pools = session.scalars(select(MatchPool).where(MatchPool.appeal_id == appeal_id)).all()
    return sorted(pools, key=lambda p: rules.draw_order(pool_source(p)))


def pool_source(pool: MatchPool) -> rules.Source:
    return rules.Source(
        kind="pool", id=pool.id, currency=pool.currency, remaining_minor=pool.remaining_minor,
        ratio_match=pool.ratio_match, ratio_gift=pool.ratio_gift, starts_at=pool.starts_at,
        ends_at=pool.ends_at, per_gift_limit_minor=pool.per_gift_limit_minor,
        min_gift_minor=pool.min_gift_minor, first_time_only=pool.first_time_only,
        monthly_rule=pool.monthly_rule)


def pledge_source(pledge: MatchPledge) -> rules.Source:
    return rules.Source(kind="pledge", id=pledge.id, currency=pledge.currency,
                        remaining_minor=pledge.remaining_minor,
                        owner_email=pledge.pledger_email.lower())


# -- pledges ------------------------------------------------------------------

def create_pledge(session, *, appeal_id: int, currency: str, amount_minor: int,
                  pledger_name: str, pledger_email: str, origin_payment_id: int | None,
                  funding_payment_id: int | None, mode: str = PAY_NOW) -> MatchPledge:
    """A pledge to match friends 1:1 up to `amount`. With mode `pay_now` it is
    funded by `funding_payment_id` (a normal card gift of the full amount) and
    becomes active when that payment succeeds."""
    if amount_minor <= 0:
        raise MatchingError("a pledge must be positive")
    if mode not in (PAY_NOW, CARD_SAVED):
        raise MatchingError("a pledge is paid now or charged from a saved card")
    if (mode == PAY_NOW) != (funding_payment_id is not None):
        raise MatchingError("a pay-now pledge needs its payment; a saved-card one has none")
    pledge = MatchPledge(
        appeal_id=appeal_id, currency=check_currency(currency), amount_minor=amount_minor,
        remaining_minor=amount_minor, pledger_name=pledger_name.strip()[:80],
        pledger_email=pledger_email.strip().lower(), mode=mode, status=PLEDGE_PENDING,
        origin_payment_id=origin_payment_id, funding_payment_id=funding_payment_id,
    )
    session.add(pledge)
    session.flush()
    return pledge


def activate_pledge_funded_by(session, payment_id: int) -> MatchPledge | None:
    """The payment that gives a pledge in full succeeded: the pledge goes live.
    Returns the pledge, or None when this payment funds no pledge."""
    pledge = pledge_funded_by(session, payment_id)
    if pledge is None:
        return None
    session.execute(update(MatchPledge).where(MatchPledge.id == pledge.id,
                                              MatchPledge.status == PLEDGE_PENDING)
                    .values(status=PLEDGE_ACTIVE).execution_options(synchronize_session=False))
    session.expire(pledge)
    return pledge


def pledge_funded_by(session, payment_id: int) -> MatchPledge | None:
    """The pledge whose own money this payment is: the pay-now gift, or the
    closing charge of a saved card."""
    return session.scalar(select(MatchPledge).where(
        (MatchPledge.funding_payment_id == payment_id)
        | (MatchPledge.charge_payment_id == payment_id)))


def funds_a_pledge(session, payment_id: int) -> bool:
    return session.scalar(select(func.count()).select_from(MatchPledge).where(
        MatchPledge.funding_payment_id == payment_id)) > 0


def pledge_by_code(session, code: str | None) -> MatchPledge | None:
    if not code or len(code) > 16:
        return None
    return session.scalar(select(MatchPledge).where(MatchPledge.code == code))


def pledges_for(session, appeal_id: int, active_only: bool = True) -> list[MatchPledge]:
    """Pledges the public sees: active ones, and saved-card ones closed and
    charged (their unlocks stand). With active_only=False, every pledge."""
    q = select(MatchPledge).where(MatchPledge.appeal_id == appeal_id)
    if active_only:
        q = q.where(MatchPledge.status.in_((PLEDGE_ACTIVE, PLEDGE_CLOSED)))
    return list(session.scalars(q.order_by(MatchPledge.id)))
