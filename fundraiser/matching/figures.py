"""What matching adds up to, read without locks or writes: an appeal's
matched total, the pools and pledges as the public API shows them, and the
preview of what a gift would be matched with if it succeeded now."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from ..payments.models import utcnow
from . import rules
from .models import CARD_SAVED, PAY_NOW, PLEDGE_ACTIVE, MatchEntry, MatchPledge, MatchPool
from .services import pledge_by_code, pledge_source, pledges_for, pool_source, pools_for


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
    sources = [pool_source(p) for p in pools_for(session, appeal_id)]
    pledge = pledge_by_code(session, pledge_code)
    if pledge is not None and pledge.appeal_id == appeal_id and pledge.status == PLEDGE_ACTIVE:
        sources.append(pledge_source(pledge))
    steps = rules.plan(gift, sources)
    return Preview(gift.currency, gift.amount_minor, sum(s.take_minor for s in steps), steps)

