"""Read-only figures for the dashboard: raised, matched, donors, average and
median per currency (never added across currencies), recent gifts, and gifts
over time or by currency and source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import joinedload

from ..appeals.models import Appeal
from ..donations.models import Donation
from ..donations.services import counted_net
from ..payments import states
from ..payments.models import Payment, utcnow


@dataclass(frozen=True)
class Figures:
    currency: str
    goal_minor: int
    raised_minor: int
    matched_minor: int
    donor_count: int
    gift_count: int
    average_minor: int
    median_minor: int

    @property
    def total_minor(self) -> int:
        return self.raised_minor + self.matched_minor

    @property
    def percent(self) -> int:
        return min(100, self.total_minor * 100 // self.goal_minor) if self.goal_minor else 0


def _counted(appeal_id: int | None = None, currency: str | None = None):
    """Counted gifts in their appeal's currency, as the public totals count
    them: a gift in another currency by the converted amount stored with it."""
    query = (select(counted_net().label("net"), Donation.email,
                    Appeal.currency.label("currency"))
             .join(Payment, Payment.id == Donation.payment_id)
             .join(Appeal, Appeal.id == Donation.appeal_id)
             .where(Payment.status.in_(states.COUNTED)))
    if appeal_id is not None:
        query = query.where(Donation.appeal_id == appeal_id)
    if currency is not None:
        query = query.where(Appeal.currency == currency)
    return query


def _aggregates(session, appeal_id: int | None = None) -> dict[str, tuple[int, int, int, int]]:
    """{currency: (gifts, donors, net sum, median)} in two queries: one
    GROUP BY, and one window query that picks the middle gift(s) per currency
    (the median of an even count is the mean of the two middle gifts, rounded
    down to a minor unit; no floats)."""
    gifts = _counted(appeal_id).subquery()
    totals = {cur: (int(n), int(donors), int(total)) for cur, n, donors, total in session.execute(
        select(gifts.c.currency, func.count(),
               func.count(func.distinct(func.lower(gifts.c.email))),
               func.coalesce(func.sum(gifts.c.net), 0)).group_by(gifts.c.currency))}
    ranked = select(
        gifts.c.currency, gifts.c.net,
        func.row_number().over(partition_by=gifts.c.currency, order_by=gifts.c.net).label("rn"),
        func.count().over(partition_by=gifts.c.currency).label("n"),
    ).subquery()
    middle: dict[str, list[int]] = {}
    for cur, net in session.execute(
            select(ranked.c.currency, ranked.c.net)
            .where(or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == ranked.c.n // 2 + 1))):
        middle.setdefault(cur, []).append(int(net))
    return {cur: (*totals[cur], sum(middle.get(cur, [0])) // max(1, len(middle.get(cur, []))))
            for cur in totals}


def _make(currency, goal_minor, matched_minor, agg) -> Figures:
    count, donors, raised, median = agg or (0, 0, 0, 0)
    return Figures(currency=currency, goal_minor=goal_minor, raised_minor=raised,
                   matched_minor=matched_minor, donor_count=donors, gift_count=count,
                   average_minor=raised // count if count else 0, median_minor=median)


def figures(session, *, currency: str, goal_minor: int, matched_minor: int = 0,
            appeal_id: int | None = None) -> Figures:
    return _make(currency, goal_minor, matched_minor,
                 _aggregates(session, appeal_id).get(currency))


def overall_figures(session, matched_for) -> list[Figures]:
    """One Figures per currency (sums are never added across currencies)."""
    goals = dict(session.execute(
        select(Appeal.currency, func.sum(Appeal.goal_minor))
        .where(Appeal.status != "draft").group_by(Appeal.currency)).all())
    aggregates = _aggregates(session)
    result = []
    for currency in sorted(set(goals) | set(aggregates)):
        matched = sum(matched_for(a) for a in session.scalars(
            select(Appeal).where(Appeal.currency == currency, Appeal.status != "draft")))
        result.append(_make(currency, int(goals.get(currency, 0)), matched,
                            aggregates.get(currency)))
    return result


def recent_gifts(session, appeal_id: int | None = None, limit: int = 10) -> list[Donation]:
    query = (select(Donation).join(Payment, Payment.id == Donation.payment_id)
             .where(Payment.status.in_((*states.COUNTED, states.REFUNDED)))
             .options(joinedload(Donation.payment), joinedload(Donation.appeal))
             .order_by(Donation.id.desc()).limit(limit))
    if appeal_id is not None:
        query = query.where(Donation.appeal_id == appeal_id)
    return list(session.scalars(query))


def _bucket(session, column, span: str):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc(span, column),
                            "YYYY-MM-DD HH24:00" if span == "hour" else "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d %H:00" if span == "hour" else "%Y-%m-%d", column)


def gifts_over_time(session, *, span: str = "day", appeal_id: int | None = None,
                    currency: str | None = None, now: datetime | None = None):
    """[(label, gift count, net minor)] for the last 48 hours or 30 days, with
    empty buckets filled in so the chart's axis is even."""
    now = now or utcnow()
    if span == "hour":
        start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=47)
        labels = [(start + timedelta(hours=i)).strftime("%Y-%m-%d %H:00") for i in range(48)]
    else:
        span = "day"
        start = datetime.combine(now.date() - timedelta(days=29), time())
        labels = [(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(30)]
    gifts = _counted(appeal_id, currency).add_columns(Donation.created_at.label("at")) \
        .where(Donation.created_at >= start).subquery()
    bucket = _bucket(session, gifts.c.at, span)
    rows = dict((label, (int(n), int(total))) for label, n, total in session.execute(
        select(bucket, func.count(), func.coalesce(func.sum(gifts.c.net), 0)).group_by(bucket)))
    return [(label, *rows.get(label, (0, 0))) for label in labels]


def by_paid_currency(session, appeal_id: int) -> list[tuple[str, int, int, int]]:
    """[(currency paid, gifts, net paid in it, net counted in the appeal's
    currency)] for one appeal's counted gifts, most gifts first. Refunds are
    taken off as the totals take them off (counted_net): the paid sum less
    what was refunded, and the stored converted amount in proportion."""
    gifts = _counted(appeal_id).add_columns(
        Donation.currency.label("paid_currency"),
        (Payment.amount_minor - Payment.refunded_minor).label("paid")).subquery()
    rows = session.execute(
        select(gifts.c.paid_currency, func.count(), func.coalesce(func.sum(gifts.c.paid), 0),
               func.coalesce(func.sum(gifts.c.net), 0))
        .group_by(gifts.c.paid_currency)
        .order_by(func.count().desc(), gifts.c.paid_currency)).all()
    return [(cur, int(n), int(paid), int(net)) for cur, n, paid, net in rows]


def gifts_by(session, what: str, appeal_id: int | None = None):
    """[(label, gift count, net minor, currency or None)] by currency or by source."""
    gifts = _counted(appeal_id).add_columns(Donation.source, Payment.provider).subquery()
    if what == "currency":
        key = gifts.c.currency
    else:
        key = case((gifts.c.source != "", gifts.c.source),
                   (gifts.c.provider == "offline", literal("offline")),
                   else_=literal("direct"))
    rows = session.execute(
        select(key.label("k"), gifts.c.currency, func.count(),
               func.coalesce(func.sum(gifts.c.net), 0))
        .group_by(key, gifts.c.currency).order_by(func.count().desc()).limit(40)).all()
    return [(str(k), int(n), int(total), cur) for k, cur, n, total in rows]
