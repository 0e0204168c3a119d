"""Match pools, friend pledges and the match ledger (DESIGN §5).

Only `_record()` writes ledger rows. Counters (`remaining_minor` on a pool or
pledge) change only under a row lock taken in one global order — the payment
(already locked by `transition_to`), then the pledge, then pools by id — with
a conditional UPDATE that cannot take a counter below zero or above its cap.
On SQLite every transaction is BEGIN IMMEDIATE, so the whole allocation runs
under the database's single write lock.

Services take the session and flush; they never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.orm.util import identity_key

from ..money import check_currency
from ..payments import services as payments
from ..payments import states
from ..payments.gateway import CardDeclined, CardSetup
from ..payments.models import Payment, utcnow
from . import rules
from .models import (
    ALLOCATION,
    CARD_SAVED,
    MONTHLY_ONCE,
    MONTHLY_X12,
    PAY_NOW,
    PLEDGE_ACTIVE,
    PLEDGE_CLOSED,
    PLEDGE_PENDING,
    PLEDGE_WITHDRAWN,
    REVERSAL,
    MatchEntry,
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
    _expire(session, MatchPool, pool_id)
    return changed


def _expire(session, model, row_id):
    """Counters are changed by UPDATE statements; forget any stale copy."""
    obj = session.identity_map.get(identity_key(model, row_id))
    if obj is not None:
        session.expire(obj)


def pools_for(session, appeal_id: int) -> list[MatchPool]:
    pools = session.scalars(select(MatchPool).where(MatchPool.appeal_id == appeal_id)).all()
    return sorted(pools, key=lambda p: rules.draw_order(_pool_source(p)))


def _pool_source(pool: MatchPool) -> rules.Source:
    return rules.Source(
        kind="pool", id=pool.id, currency=pool.currency, remaining_minor=pool.remaining_minor,
        ratio_match=pool.ratio_match, ratio_gift=pool.ratio_gift, starts_at=pool.starts_at,
        ends_at=pool.ends_at, per_gift_limit_minor=pool.per_gift_limit_minor,
        min_gift_minor=pool.min_gift_minor, first_time_only=pool.first_time_only,
        monthly_rule=pool.monthly_rule)


def _pledge_source(pledge: MatchPledge) -> rules.Source:
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


def withdraw_pledge_funded_by(session, payment_id: int, reason: str) -> MatchPledge | None:
    """The money behind a pay-now pledge went back to the pledger (a refund or
    a dispute of the payment that gave it): the pledge stops matching, and
    what it had unlocked is reversed on the ledger — it was never really
    there. Returns the pledge, or None when this payment funds no pledge."""
    pledge = pledge_funded_by(session, payment_id)
    if pledge is None:
        return None
    return withdraw_pledge(session, pledge, reason)


def withdraw_pledge(session, pledge: MatchPledge, reason: str) -> MatchPledge:
    _lock_remaining(session, MatchPledge, pledge.id)
    session.execute(update(MatchPledge).where(MatchPledge.id == pledge.id)
                    .values(status=PLEDGE_WITHDRAWN)
                    .execution_options(synchronize_session=False))
    matched_payments = session.scalars(
        select(MatchEntry.payment_id).where(MatchEntry.pledge_id == pledge.id)
        .group_by(MatchEntry.payment_id).having(func.sum(MatchEntry.amount_minor) > 0)
        .order_by(MatchEntry.payment_id)).all()
    for matched_payment_id in matched_payments:
        reverse(session, matched_payment_id, 0, reason, pledge_id=pledge.id)
    _expire(session, MatchPledge, pledge.id)
    return pledge


# -- saved-card pledges ---------------------------------------------------------

def record_card_setup(session, pledge_id: int, setup: CardSetup) -> bool:
    """Store what the gateway said about the card being saved. True when the
    card is saved and the pledge is now active."""
    values = {"setup_id": setup.setup_id, "customer_id": setup.customer_id}
    if setup.client_secret:
        values["setup_client_secret"] = setup.client_secret
    if setup.status == "succeeded" and setup.payment_method_id:
        values["payment_method_id"] = setup.payment_method_id
    session.execute(update(MatchPledge).where(MatchPledge.id == pledge_id)
                    .values(**values).execution_options(synchronize_session=False))
    activated = False
    if "payment_method_id" in values:
        activated = session.execute(
            update(MatchPledge).where(MatchPledge.id == pledge_id,
                                      MatchPledge.status == PLEDGE_PENDING)
            .values(status=PLEDGE_ACTIVE, setup_client_secret=None)
            .execution_options(synchronize_session=False)).rowcount == 1
    _expire(session, MatchPledge, pledge_id)
    return activated


def card_pledges_due(session, now: datetime, appeal_id: int | None = None,
                     force: bool = False) -> list[int]:
    """Active saved-card pledges whose appeal has closed (or all of one
    appeal's, with force)."""
    from sqlalchemy import text as sql_text

    q = select(MatchPledge.id).where(MatchPledge.mode == CARD_SAVED,
                                     MatchPledge.status == PLEDGE_ACTIVE)
    if appeal_id is not None:
        q = q.where(MatchPledge.appeal_id == appeal_id)
    if not force:
        closed = sql_text("SELECT id FROM appeals WHERE status = 'closed' "
                          "OR (ends_at IS NOT NULL AND ends_at <= :now)").bindparams(now=now)
        q = q.where(MatchPledge.appeal_id.in_(closed))
    return list(session.scalars(q.order_by(MatchPledge.id)))


def close_card_pledge(session, pledge_id: int) -> int:
    """Stop a saved-card pledge matching and prepare the charge for exactly
    what it unlocked. Returns that amount (0: nothing to charge). The charge
    itself is `charge_closed_pledge`, after a commit, outside any lock."""
    _lock_remaining(session, MatchPledge, pledge_id)
    pledge = session.get(MatchPledge, pledge_id, populate_existing=True)
    if pledge.mode != CARD_SAVED or pledge.status != PLEDGE_ACTIVE:
        return 0
    unlocked = int(session.scalar(select(func.coalesce(func.sum(MatchEntry.amount_minor), 0))
                                  .where(MatchEntry.pledge_id == pledge_id)))
    values = {"status": PLEDGE_CLOSED}
    if unlocked > 0:
        payment = payments.create_payment(session, unlocked, pledge.currency)
        payments.claim_for_submission(session, payment.id)
        values["charge_payment_id"] = payment.id
    session.execute(update(MatchPledge).where(MatchPledge.id == pledge_id).values(**values)
                    .execution_options(synchronize_session=False))
    _expire(session, MatchPledge, pledge_id)
    return unlocked


def charge_closed_pledge(session, gateway, pledge_id: int) -> str:
    """Charge a closed pledge's saved card off-session. Returns the payment's
    status. A declined card withdraws the pledge: its unlocks are reversed."""
    pledge = session.get(MatchPledge, pledge_id, populate_existing=True)
    if pledge.charge_payment_id is None:
        return "nothing"
    payment = session.get(Payment, pledge.charge_payment_id, populate_existing=True)
    if payment.status != states.PROCESSING or payment.intent_id:
        return payment.status
    try:
        result = gateway.charge_saved_card(
            reference=payment.reference, attempt=1, amount_minor=payment.amount_minor,
            currency=payment.currency, customer_id=pledge.customer_id,
            payment_method_id=pledge.payment_method_id)
    except CardDeclined as exc:
        payments.transition_to(session, payment.id, states.FAILED,
                               failure_code=exc.code[:64], failure_message=exc.user_message[:500])
        withdraw_pledge(session, pledge, "pledge_withdrawn")
        return states.FAILED
    payments.record_intent(session, payment.id, result)
    session.refresh(payment)
    if payment.status == states.FAILED:
        withdraw_pledge(session, pledge, "pledge_withdrawn")
    return payment.status


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


# -- the ledger ---------------------------------------------------------------

def _record(session, *, group_id, kind, appeal_id, payment_id, currency, amount_minor,
            pool_id=None, pledge_id=None, basis_minor=0, reverses_id=None,
            reason="") -> MatchEntry:
    entry = MatchEntry(group_id=group_id, kind=kind, appeal_id=appeal_id, pool_id=pool_id,
                       pledge_id=pledge_id, payment_id=payment_id, amount_minor=amount_minor,
                       currency=currency, basis_minor=basis_minor, reverses_id=reverses_id,
                       reason=reason)
    session.add(entry)
    return entry


def _lock_remaining(session, model, row_id) -> int | None:
    return session.scalar(select(model.remaining_minor).where(model.id == row_id)
                          .with_for_update(key_share=True))


def _take(session, model, row_id, amount) -> None:
    result = session.execute(
        update(model).where(model.id == row_id, model.remaining_minor >= amount)
        .values(remaining_minor=model.remaining_minor - amount)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # cannot happen under the row lock; be loud if it does
        raise RuntimeError(f"{model.__tablename__} {row_id}: remaining changed under its lock")


def _give_back(session, model, row_id, amount, cap_column) -> None:
    result = session.execute(
        update(model).where(model.id == row_id, model.remaining_minor + amount <= cap_column)
        .values(remaining_minor=model.remaining_minor + amount)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RuntimeError(f"{model.__tablename__} {row_id}: reversal would exceed the cap")


def net_for_payment(session, payment_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(MatchEntry.amount_minor), 0))
                              .where(MatchEntry.payment_id == payment_id)))


def allocate(session, *, appeal_id: int, payment_id: int, gift: rules.Gift,
             pledge_code: str | None = None, reason: str = "gift") -> list[MatchEntry]:
    """Match a succeeded gift: its pledge (when it came through a friend's
    link), then the appeal's pools in draw order. Writes one allocation row
    per source that gave something, all with one group id. A payment that
    already holds a match is not matched again."""
    if gift.amount_minor <= 0 or net_for_payment(session, payment_id) != 0:
        return []
    pledge = pledge_by_code(session, pledge_code)
    if pledge is not None and (pledge.appeal_id != appeal_id or pledge.status != PLEDGE_ACTIVE):
        pledge = None
    pool_ids = list(session.scalars(
        select(MatchPool.id).where(MatchPool.appeal_id == appeal_id,
                                   MatchPool.currency == gift.currency)
        .order_by(MatchPool.id)))
    # Lock in the global order: pledge, then pools by id. Read the numbers
    # under the lock, then draw in the documented draw order.
    sources = []
    if pledge is not None:
        _lock_remaining(session, MatchPledge, pledge.id)
        session.refresh(pledge)
        sources.append((_pledge_source(pledge), MatchPledge, pledge.id))
    if pool_ids:
        locked = session.scalars(
            select(MatchPool).where(MatchPool.id.in_(pool_ids)).order_by(MatchPool.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)).all()
        sources += [(_pool_source(p), MatchPool, p.id) for p in locked]
    steps = rules.plan(gift, [s for s, _m, _i in sources])
    group_id = uuid.uuid4().hex
    entries = []
    for step in steps:
        model = MatchPledge if step.source.kind == "pledge" else MatchPool
        _take(session, model, step.source.id, step.take_minor)
        entries.append(_record(
            session, group_id=group_id, kind=ALLOCATION, appeal_id=appeal_id,
            payment_id=payment_id, currency=gift.currency, amount_minor=step.take_minor,
            basis_minor=gift.amount_minor, reason=reason,
            **({"pledge_id": step.source.id} if model is MatchPledge
               else {"pool_id": step.source.id})))
    session.flush()
    for _s, model, row_id in sources:
        _expire(session, model, row_id)
    return entries


def reverse(session, payment_id: int, net_now_minor: int, reason: str,
            pledge_id: int | None = None) -> list[MatchEntry]:
    """Bring a payment's matches down to what `net_now` still earns (0 for a
    dispute or a full refund). Cumulative, so a repeated or reordered refund
    report reverses nothing twice (see rules.kept_after_refund). With
    `pledge_id`, only that pledge's matches are touched."""
    q = select(MatchEntry).where(MatchEntry.payment_id == payment_id,
                                 MatchEntry.kind == ALLOCATION)
    if pledge_id is not None:
        q = q.where(MatchEntry.pledge_id == pledge_id)
    allocations = session.scalars(q.order_by(MatchEntry.id)).all()
    if not allocations:
        return []
    reversed_by = dict(session.execute(
        select(MatchEntry.reverses_id, func.sum(MatchEntry.amount_minor))
        .where(MatchEntry.payment_id == payment_id, MatchEntry.kind == REVERSAL)
        .group_by(MatchEntry.reverses_id)).all())
    # lock order: pledges first, then pools by id
    allocations = sorted(allocations, key=lambda e: (e.pledge_id is None,
                                                     e.pledge_id or e.pool_id))
    group_id = uuid.uuid4().hex
    entries = []
    for alloc in allocations:
        still = alloc.amount_minor + int(reversed_by.get(alloc.id) or 0)
        keep = rules.kept_after_refund(alloc.amount_minor, alloc.basis_minor, net_now_minor)
        back = still - keep
        if back <= 0:
            continue
        if alloc.pledge_id is not None:
            _lock_remaining(session, MatchPledge, alloc.pledge_id)
            _give_back(session, MatchPledge, alloc.pledge_id, back, MatchPledge.amount_minor)
        else:
            _lock_remaining(session, MatchPool, alloc.pool_id)
            _give_back(session, MatchPool, alloc.pool_id, back, MatchPool.cap_minor)
        entries.append(_record(
            session, group_id=group_id, kind=REVERSAL, appeal_id=alloc.appeal_id,
            payment_id=payment_id, currency=alloc.currency, amount_minor=-back,
            pool_id=alloc.pool_id, pledge_id=alloc.pledge_id, reverses_id=alloc.id,
            reason=reason))
    session.flush()
    for e in entries:
        _expire(session, MatchPledge if e.pledge_id else MatchPool, e.pledge_id or e.pool_id)
    return entries


def payment_net(session, payment_id: int) -> tuple[int, str]:
    amount, refunded, currency = session.execute(
        select(Payment.amount_minor, Payment.refunded_minor, Payment.currency)
        .where(Payment.id == payment_id)).one()
    return amount - refunded, currency


# -- reading ------------------------------------------------------------------

def _sums(session, column, appeal_id):
    """{source id: (allocated, reversed)} for pools or pledges of one appeal."""
    rows = session.execute(
        select(column,
               func.coalesce(func.sum(case((MatchEntry.amount_minor > 0,
                                            MatchEntry.amount_minor), else_=0)), 0),
               func.coalesce(func.sum(case((MatchEntry.amount_minor < 0,
                                            -MatchEntry.amount_minor), else_=0)), 0))
        .where(MatchEntry.appeal_id == appeal_id, column.is_not(None))
        .group_by(column)).all()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def matched_minor(session, appeal) -> int:
    """Matching money unlocked for the appeal and not counted anywhere else:
    Σ allocated − Σ reversed over its sponsor pools and saved-card pledges
    (whose closing charge is not a gift row, so it is counted here only). A
    pay-now pledge's money is already in the appeal's raised total (the
    pledger paid it as a gift), so what friends unlock from it is shown on
    the ledger but not added again."""
    card_pledges = select(MatchPledge.id).where(MatchPledge.mode == CARD_SAVED)
    return int(session.scalar(
        select(func.coalesce(func.sum(MatchEntry.amount_minor), 0))
        .where(MatchEntry.appeal_id == appeal.id,
               MatchEntry.pool_id.is_not(None) | MatchEntry.pledge_id.in_(card_pledges))))


def sponsor_label(pool: MatchPool) -> str:
    return "" if pool.is_anonymous else pool.sponsor_name


def pools_json(session, appeal) -> list[dict]:
    return [{"id": p.id, "sponsor": sponsor_label(p) or "Anonymous", "ratio": p.ratio,
             "cap_minor": p.cap_minor, "allocated_minor": p.allocated_minor,
             "remaining_minor": p.remaining_minor, "currency": p.currency,
             "starts_at": _iso(p.starts_at), "ends_at": _iso(p.ends_at),
             "open": rules.window_open(p.starts_at, p.ends_at, utcnow())}
            for p in pools_for(session, appeal.id)]


def pledges_json(session, appeal) -> list[dict]:
    return [{"id": p.id, "pledger": p.pledger_name, "ratio": "1:1",
             "pledged_minor": p.amount_minor, "unlocked_minor": p.allocated_minor,
             "remaining_minor": p.remaining_minor, "currency": p.currency,
             "paid_upfront": p.mode == PAY_NOW, "status": p.status}
            for p in pledges_for(session, appeal.id)]


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


@dataclass(frozen=True)
class Preview:
    currency: str
    gift_minor: int
    matched_minor: int
    steps: list[rules.Step]

    @property
    def fully_matched(self) -> bool:
        return bool(self.steps) and sum(s.covered_minor for s in self.steps) >= self.gift_minor


def preview(session, *, appeal_id: int, gift: rules.Gift,
            pledge_code: str | None = None) -> Preview:
    """What a gift would be matched with if it succeeded now (no locks, no
    writes). The real allocation may find less left if others gave first."""
    sources = [_pool_source(p) for p in pools_for(session, appeal_id)]
    pledge = pledge_by_code(session, pledge_code)
    if pledge is not None and pledge.appeal_id == appeal_id and pledge.status == PLEDGE_ACTIVE:
        sources.append(_pledge_source(pledge))
    steps = rules.plan(gift, sources)
    return Preview(gift.currency, gift.amount_minor, sum(s.take_minor for s in steps), steps)


def matches_for_payment(session, payment_id: int) -> list[tuple[str, int | None, int]]:
    """[(kind, source id, net amount)] still matched for one payment."""
    rows = session.execute(
        select(MatchEntry.pool_id, MatchEntry.pledge_id, func.sum(MatchEntry.amount_minor))
        .where(MatchEntry.payment_id == payment_id)
        .group_by(MatchEntry.pool_id, MatchEntry.pledge_id)).all()
    return [("pool" if pool_id else "pledge", pool_id or pledge_id, int(total))
            for pool_id, pledge_id, total in rows if total]


def ledger_rows(session, appeal_id: int, limit: int = 200) -> list[MatchEntry]:
    return list(session.scalars(select(MatchEntry).where(MatchEntry.appeal_id == appeal_id)
                                .order_by(MatchEntry.id.desc()).limit(limit)))


def could_match(session, *, appeal_id: int, currency: str, pledge_code: str | None) -> bool:
    """Whether a gift to this appeal has anything that might match it: a pool
    in its currency, or the active pledge whose link it came through. One
    query, so the many gifts to appeals without matching skip the rest."""
    pool = select(MatchPool.id).where(MatchPool.appeal_id == appeal_id,
                                      MatchPool.currency == currency).exists()
    if not pledge_code or len(pledge_code) > 16:
        return bool(session.scalar(select(pool)))
    pledge = select(MatchPledge.id).where(MatchPledge.code == pledge_code,
                                          MatchPledge.appeal_id == appeal_id,
                                          MatchPledge.status == PLEDGE_ACTIVE).exists()
    return bool(session.scalar(select(pool | pledge)))


def claim_charge_receipt(session, pledge_id: int) -> bool:
    """True exactly once per pledge: whoever gets True sends the receipt for
    the saved card's closing charge."""
    result = session.execute(
        update(MatchPledge).where(MatchPledge.id == pledge_id,
                                  MatchPledge.charge_payment_id.is_not(None),
                                  MatchPledge.charge_receipt_sent_at.is_(None))
        .values(charge_receipt_sent_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount == 1
