"""The match ledger (DESIGN §5): matching a succeeded gift, reversing it on
a refund or dispute, and withdrawing a pledge whose money went back.

Only `_record()` writes ledger rows (and, on PostgreSQL,
`_take_and_record()`: a pool's draw and its row in one statement). Counters
(`remaining_minor` on a pool or pledge) change only under a row lock taken
in one global order — the payment (already locked by `transition_to`), then
the pledge, then pools by id — with a conditional UPDATE that cannot take a
counter below zero or above its cap.
A gift matched whole by one pool takes no lock before that UPDATE, which
locks the pool's row itself (see `allocate`). On SQLite the payment's move,
a write, took the database's single write lock already (BEGIN IMMEDIATE,
fundraiser/__init__.py), so the whole allocation runs under it.

Services take the session and write through it; they never commit. The
statements every gift runs are built once (module level, or cached per
shape): SQLAlchemy reuses a statement's compiled form and cache key only
for the same object, and built anew for every gift the two cost more than
running the statement.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import uuid
from collections.abc import Callable

from sqlalchemy import bindparam, func, insert, select, update

from ..payments.models import Payment, utcnow
from . import rules
from .models import (
    ALLOCATION,
    PLEDGE_ACTIVE,
    PLEDGE_WITHDRAWN,
    REVERSAL,
    MatchEntry,
    MatchPledge,
    MatchPool,
)
from .services import expire_row, pledge_by_code, pledge_funded_by, pledge_source, pool_source


@dataclasses.dataclass(frozen=True)
class Recorded:
    """A ledger row as written: what its writer's callers need of it."""

    amount_minor: int
    pool_id: int | None
    pledge_id: int | None


# The ledger on its table, not the mapped class: it is written and summed
# here, never loaded, so no ORM bookkeeping.
_LEDGER = MatchEntry.__table__
_RECORD = insert(_LEDGER)
_NET = (select(func.coalesce(func.sum(_LEDGER.c.amount_minor), 0))
        .where(_LEDGER.c.payment_id == bindparam("payment_id")))
# The gift's own read brings its appeal's pools and what the payment holds
# matched already (POOL_TABLE, matched_already: donations.services
# .gift_and_pools), as rows of the table, not MatchPool instances: a gift
# only reads them, and loading instances (identity map, state,
# populate_existing) cost more than the query.
POOL_TABLE = MatchPool.__table__
PoolRow = collections.namedtuple("PoolRow", [c.name for c in POOL_TABLE.c])


def matched_already():
    """What the payment :payment_id holds matched already, as a column."""
    return _NET.scalar_subquery().label("matched_already")


def _record(session, rows: list[dict]) -> list[Recorded]:
    """Write ledger rows (one INSERT), each a dict made by `_row`."""
    if rows:  # one row as one: a list of one is an executemany
        session.execute(_RECORD, rows[0] if len(rows) == 1 else rows)
    return _recorded(rows)


def _recorded(rows: list[dict]) -> list[Recorded]:
    return [Recorded(r["amount_minor"], r["pool_id"], r["pledge_id"]) for r in rows]


def _row(*, group_id, kind, appeal_id, payment_id, currency, amount_minor, pool_id=None,
         pledge_id=None, basis_minor=0, reverses_id=None, reason="", paid=None) -> dict:
    paid_minor, paid_currency = paid or (None, None)
    return dict(group_id=group_id, kind=kind, appeal_id=appeal_id, pool_id=pool_id,
                pledge_id=pledge_id, payment_id=payment_id, amount_minor=amount_minor,
                currency=currency, basis_minor=basis_minor, reverses_id=reverses_id,
                reason=reason, paid_minor=paid_minor, paid_currency=paid_currency)


def lock_remaining(session, model, row_id) -> int | None:
    return session.scalar(select(model.remaining_minor).where(model.id == row_id)
                          .with_for_update(key_share=True))


# What a pool's draw depends on besides its remaining amount.
POOL_RULES = ("ratio_match", "ratio_gift", "starts_at", "ends_at", "per_gift_limit_minor",
              "min_gift_minor", "first_time_only", "monthly_rule")


@functools.cache
def _take_statement(model, unchanged: tuple[str, ...]):
    """UPDATE … remaining - :amount WHERE id = :row_id AND there is enough
    AND each `unchanged` column still IS NOT DISTINCT FROM :was_<column>."""
    table = model.__table__
    amount = bindparam("amount", type_=table.c.remaining_minor.type)
    same = [table.c[k].is_not_distinct_from(bindparam(f"was_{k}", type_=table.c[k].type))
            for k in unchanged]
    return (update(table)
            .where(table.c.id == bindparam("row_id"), table.c.remaining_minor >= amount, *same)
            .values(remaining_minor=table.c.remaining_minor - amount))


_LEDGER_COLUMNS = ("group_id", "kind", "appeal_id", "pool_id", "pledge_id", "payment_id",
                   "amount_minor", "currency", "basis_minor", "reverses_id", "reason",
                   "paid_minor", "paid_currency")


@functools.cache
def _take_and_record_statement(unchanged: tuple[str, ...]):
    """PostgreSQL: a pool's draw and its ledger row in one statement (WITH
    taken AS (UPDATE … RETURNING id) INSERT … SELECT … FROM taken), so the
    row is written exactly when the draw is, and the pool's row is locked for
    one round trip less. The row's values are bound as `l_<column>`."""
    taken = _take_statement(MatchPool, unchanged).returning(MatchPool.__table__.c.id).cte("taken")
    c = _LEDGER.c
    values = [taken.c.id if name == "pool_id" else bindparam(f"l_{name}", type_=c[name].type)
              for name in _LEDGER_COLUMNS]
    return (insert(_LEDGER)
            .from_select([*_LEDGER_COLUMNS, "created_at"],
                         select(*values, bindparam("l_created_at", type_=c.created_at.type)))
            .add_cte(taken).returning(c.id))  # (rowcount is not told for an INSERT … SELECT)


def _take_and_record(session, pool_id: int, amount: int, unchanged: dict,
                     row: dict) -> list[Recorded] | None:
    """Draw `amount` from the pool `pool_id` and write the ledger row `row`
    (made by `_row`) if the pool still has it and its `unchanged` rules (as
    `_try_take`): one statement on PostgreSQL, two elsewhere. None when
    not: nothing was taken or written."""
    if session.get_bind().dialect.name != "postgresql":
        if not _try_take(session, MatchPool, pool_id, amount, unchanged):
            return None
        return _record(session, [row])
    params = {**_take_params(pool_id, amount, unchanged), "l_created_at": utcnow(),
              **{f"l_{k}": row[k] for k in _LEDGER_COLUMNS if k != "pool_id"}}
    written = session.execute(_take_and_record_statement(tuple(unchanged)), params)
    return None if written.first() is None else _recorded([row])


def _take_params(row_id, amount, unchanged: dict) -> dict:
    """The parameters of `_take_statement` (and so of `_take_and_record_statement`)."""
    return {"row_id": row_id, "amount": amount,
            **{f"was_{k}": v for k, v in unchanged.items()}}


def _try_take(session, model, row_id, amount, unchanged: dict | None = None) -> bool:
    """Draw `amount` if the row still has it and its `unchanged` columns still
    hold those values (the UPDATE takes the row lock and, on PostgreSQL,
    checks again on the row as a concurrent writer committed it). False when
    not: nothing was taken."""
    unchanged = unchanged or {}
    statement = _take_statement(model, tuple(unchanged))
    return session.execute(statement, _take_params(row_id, amount, unchanged)).rowcount == 1


def _take(session, model, row_id, amount) -> None:
    if not _try_take(session, model, row_id, amount):
        # cannot happen under the row lock; be loud if it does
        raise RuntimeError(f"{model.__tablename__} {row_id}: remaining changed under its lock")


def _give_back(session, model, row_id, amount, cap_column) -> None:
    result = session.execute(
        update(model).where(model.id == row_id, model.remaining_minor + amount <= cap_column)
        .values(remaining_minor=model.remaining_minor + amount)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RuntimeError(f"{model.__tablename__} {row_id}: reversal would exceed the cap")


def net_for_payment(session, payment_id: int) -> int:
    return int(session.scalar(_NET, {"payment_id": payment_id}))


@dataclasses.dataclass(frozen=True)
class Sources:
    """What might match a gift: the appeal's pools in its currency, and the
    active pledge whose link it came through."""

    pools: list[PoolRow]  # a MatchPool's columns, read only
    pledge: MatchPledge | None
    # What the payment holds matched already, read with the pools (None: not).
    matched_minor: int | None = None


def sources_of(session, *, appeal_id: int, pledge_code: str | None, pools: list[PoolRow],
               matched_minor: int | None) -> Sources | None:
    """The gift's possible sources: the appeal's pools in the gift's
    currency, by id, and what the payment holds matched already (None: not
    read), both read by the caller without a lock (gift_and_pools), and the
    active pledge of `pledge_code`, looked up here. None when there are
    none, so the many gifts to appeals without matching skip the rest."""
    pledge = pledge_by_code(session, pledge_code)
    if pledge is not None and (pledge.appeal_id != appeal_id or pledge.status != PLEDGE_ACTIVE):
        pledge = None
    if not pools and pledge is None:
        return None
    return Sources(pools, pledge, matched_minor)


def allocate(session, *, appeal_id: int, payment_id: int, gift: rules.Gift, sources: Sources,
             reason: str = "gift", paid: tuple[int, str] | None = None,
             first_time: Callable[[], bool] | None = None) -> list[Recorded]:
    """Match a succeeded gift from its `sources` (`sources_of`): its pledge
    (when it came through a friend's link), then the appeal's pools in draw
    order. Writes one allocation row per source that gave something, all with
    one group id. A payment that already holds a match is not matched again.
    `gift` is in the pools' currency; for a gift paid in another, `paid` is
    (net minor, currency) as paid, kept on each row beside the converted
    basis. `first_time` says whether the donor gives for the first time; it
    is asked (a query) only when a source matches first-time donors only.

    The common case — one pool with enough left for the whole match — draws
    with one conditional UPDATE and no lock taken before it, so the pool's
    row is locked only from that UPDATE to the commit (many gifts at once on
    one pool wait on each other for that long only). Anything else (a pledge,
    a pool running short, a draw across sources) plans again under row locks
    with the figures found there."""
    if gift.amount_minor <= 0:
        return []
    matched = sources.matched_minor
    if (net_for_payment(session, payment_id) if matched is None else matched) != 0:
        return []
    pledge, pools = sources.pledge, sources.pools
    if first_time is not None and any(p.first_time_only for p in pools):
        gift = dataclasses.replace(gift, is_first_time=first_time())
    draw = dict(session=session, appeal_id=appeal_id, payment_id=payment_id, gift=gift,
                reason=reason, paid=paid)
    if pledge is None and pools:
        unlocked = [pool_source(p) for p in pools]
        steps = rules.plan(gift, unlocked)
        if not steps:
            return []
        pool = next((p for p in pools if p.id == steps[0].source.id), None)
        # Planned on figures read without a lock: drawn only if the pool still
        # has the amount and the rules it was planned by (a sponsor's change
        # committed meanwhile means planning again, under the lock).
        if _whole_from_first(gift, unlocked, steps):
            entries = _take_and_record(session, pool.id, steps[0].take_minor,
                                       {k: getattr(pool, k) for k in POOL_RULES},
                                       _allocation_row(steps[0], **draw))
            if entries is not None:
                expire_row(session, MatchPool, pool.id)
                return entries
    # Lock in the global order: pledge, then pools by id. Read the numbers
    # under the lock, then draw in the documented draw order.
    sources = []
    if pledge is not None:
        lock_remaining(session, MatchPledge, pledge.id)
        session.refresh(pledge)
        sources.append((pledge_source(pledge), MatchPledge, pledge.id))
    if pools:
        locked = session.scalars(
            select(MatchPool).where(MatchPool.id.in_([p.id for p in pools]))
            .order_by(MatchPool.id).with_for_update(key_share=True)
            .execution_options(populate_existing=True)).all()
        sources += [(pool_source(p), MatchPool, p.id) for p in locked]
    steps = rules.plan(gift, [s for s, _m, _i in sources])
    for step in steps:
        model = MatchPledge if step.source.kind == "pledge" else MatchPool
        _take(session, model, step.source.id, step.take_minor)
    return _write(steps, [(m, i) for _s, m, i in sources], **draw)


def _whole_from_first(gift: rules.Gift, sources: list[rules.Source],
                      steps: list[rules.Step]) -> bool:
    """The plan is one draw, from the first source the gift may draw on, and
    that source's figure did not cut it short: under a lock, with a figure at
    least as large, the plan would be the same."""
    first = next((s for s in sorted(sources, key=rules.draw_order)
                  if rules.eligible(s, gift)), None)
    step = steps[0]
    return (len(steps) == 1 and step.source is first
            and step.take_minor == rules.wanted(first, gift.amount_minor, gift))


def _allocation_row(step, *, session, appeal_id, payment_id, gift, reason, paid,
                    group_id=None) -> dict:
    return _row(group_id=group_id or uuid.uuid4().hex, kind=ALLOCATION, appeal_id=appeal_id,
                payment_id=payment_id, currency=gift.currency, amount_minor=step.take_minor,
                basis_minor=gift.amount_minor, reason=reason, paid=paid,
                **({"pledge_id": step.source.id} if step.source.kind == "pledge"
                   else {"pool_id": step.source.id}))


def _write(steps, touched, **draw):
    group_id = uuid.uuid4().hex
    entries = _record(draw["session"],
                      [_allocation_row(step, group_id=group_id, **draw) for step in steps])
    for model, row_id in touched:
        expire_row(draw["session"], model, row_id)
    return entries


def reverse(session, payment_id: int, net_now_minor: int, reason: str,
            pledge_id: int | None = None) -> list[Recorded]:
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
    rows = []
    for alloc in allocations:
        still = alloc.amount_minor + int(reversed_by.get(alloc.id) or 0)
        keep = rules.kept_after_refund(alloc.amount_minor, alloc.basis_minor, net_now_minor)
        back = still - keep
        if back <= 0:
            continue
        if alloc.pledge_id is not None:
            lock_remaining(session, MatchPledge, alloc.pledge_id)
            _give_back(session, MatchPledge, alloc.pledge_id, back, MatchPledge.amount_minor)
        else:
            lock_remaining(session, MatchPool, alloc.pool_id)
            _give_back(session, MatchPool, alloc.pool_id, back, MatchPool.cap_minor)
        rows.append(_row(
            group_id=group_id, kind=REVERSAL, appeal_id=alloc.appeal_id,
            payment_id=payment_id, currency=alloc.currency, amount_minor=-back,
            pool_id=alloc.pool_id, pledge_id=alloc.pledge_id, reverses_id=alloc.id,
            reason=reason))
    entries = _record(session, rows)
    for e in entries:
        expire_row(session, MatchPledge if e.pledge_id else MatchPool, e.pledge_id or e.pool_id)
    return entries


def withdraw_pledge_funded_by(session, payment_id: int, reason: str) -> MatchPledge | None:
    """The money behind a pay-now pledge went back to the pledger (a refund or
    a dispute of the payment that gave it): the pledge stops matching, and
    what it had unlocked is reversed on the ledger — it was never really
    there. Returns the pledge, or None when this payment funds no pledge."""
    pledge = pledge_funded_by(session, payment_id)
    if pledge is None:
        return None
    return withdraw_pledge(session, pledge, reason)


def withdraw_pledge(session, pledge: MatchPledge, reason: str,
                    status: str = PLEDGE_WITHDRAWN) -> MatchPledge:
    """The pledge stops matching (`status`: withdrawn, or lapsed) and what it
    had unlocked is reversed on the ledger."""
    lock_remaining(session, MatchPledge, pledge.id)
    session.execute(update(MatchPledge).where(MatchPledge.id == pledge.id)
                    .values(status=status)
                    .execution_options(synchronize_session=False))
    matched_payments = session.scalars(
        select(MatchEntry.payment_id).where(MatchEntry.pledge_id == pledge.id)
        .group_by(MatchEntry.payment_id).having(func.sum(MatchEntry.amount_minor) > 0)
        .order_by(MatchEntry.payment_id)).all()
    for matched_payment_id in matched_payments:
        reverse(session, matched_payment_id, 0, reason, pledge_id=pledge.id)
    expire_row(session, MatchPledge, pledge.id)
    return pledge


def payment_net(session, payment_id: int) -> tuple[int, str]:
    amount, refunded, currency = session.execute(
        select(Payment.amount_minor, Payment.refunded_minor, Payment.currency)
        .where(Payment.id == payment_id)).one()
    return amount - refunded, currency


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
