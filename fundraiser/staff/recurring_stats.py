"""The dashboard's recurring figures, per currency (never added across
currencies): what monthly and yearly gifts bring in a month, how many
donors give monthly, and how many recurring gifts were cancelled this
calendar month (UTC).

A gift counts as running while Stripe collects it: `active`, or
`past_due` (Stripe is still retrying its last payment), and not paused.
A yearly gift adds a twelfth of its amount to a month's revenue; the
twelfths are summed per currency and rounded once, half up, so the figure
is exact to the minor unit for the whole currency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select

from ..donations.models import Subscription
from ..payments.models import utcnow

RUNNING = ("active", "past_due")


@dataclass(frozen=True)
class RecurringFigures:
    currency: str
    monthly_minor: int        # the running monthly gifts, summed
    yearly_minor: int         # the running yearly gifts, summed (a year's worth)
    monthly_donors: int       # distinct donors with a running monthly gift
    yearly_donors: int
    canceled_this_month: int  # monthly and yearly gifts cancelled since the 1st

    @property
    def per_month_minor(self) -> int:
        """Recurring revenue a month: monthly amounts plus yearly ones / 12."""
        return self.monthly_minor + (self.yearly_minor + 6) // 12  # half up


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def recurring_figures(session, appeal_id: int | None = None,
                      now: datetime | None = None) -> list[RecurringFigures]:
    since = month_start(now or utcnow())
    running = and_(Subscription.status.in_(RUNNING), Subscription.paused_at.is_(None))
    monthly = and_(running, Subscription.interval == "month")
    yearly = and_(running, Subscription.interval == "year")
    query = (select(
        Subscription.currency,
        func.coalesce(func.sum(case((monthly, Subscription.amount_minor), else_=0)), 0),
        func.coalesce(func.sum(case((yearly, Subscription.amount_minor), else_=0)), 0),
        func.count(func.distinct(case((monthly, Subscription.email)))),
        func.count(func.distinct(case((yearly, Subscription.email)))),
        func.count(case((and_(Subscription.status == "canceled",
                              Subscription.canceled_at >= since), 1))))
        # A gift whose first payment never went through was never recurring.
        .where(Subscription.gateway_id.is_not(None), Subscription.status != "incomplete")
        .group_by(Subscription.currency).order_by(Subscription.currency))
    if appeal_id is not None:
        query = query.where(Subscription.appeal_id == appeal_id)
    return [RecurringFigures(currency, int(m), int(y), int(md), int(yd), int(c))
            for currency, m, y, md, yd, c in session.execute(query)]
