"""Read-only queries for the staff tables: the donations table with its
filters, sorting, cursors and CSV export, one gift's history, and donors.
Nothing here writes. (The dashboard's figures are stats.py, its charts
charts.py.)"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, literal, literal_column, or_, select, tuple_

from ..appeals.models import Appeal
from ..donations.models import Donation, Subscription
from ..money import Money, MoneyError
from ..payments import states
from ..payments.models import Payment, PaymentStatusChange, WebhookEvent
from ..urls import MAX_ID, query_int
from .models import AuditEvent, OfflineGift, StaffRefund

PAGE_SIZE = 50
# Filter and cursor values the database can compare: dates within these
# years (9999-12-31 plus a day overflows), amounts within a BIGINT.
FIRST_YEAR, LAST_YEAR = 1970, 2999
MAX_MINOR = 2**62


# -- donations table ------------------------------------------------------------

SORTS = {
    "date": Donation.created_at,
    "amount": Donation.amount_minor,
    "name": Donation.donor_name,
    "status": Payment.status,
}


@dataclass
class DonationFilters:
    appeal_id: int | None = None
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    amount_min: str = ""       # major units as typed, read in each gift's currency
    amount_max: str = ""
    currency: str = ""
    source: str = ""
    method: str = ""           # stripe | offline
    frequency: str = ""        # once | monthly | yearly (an instalment of such a gift)
    q: str = ""
    sort: str = "date"
    direction: str = "desc"
    errors: list[str] = field(default_factory=list)

    def as_args(self) -> dict:
        args = {"appeal": self.appeal_id or "", "status": self.status,
                "date_from": self.date_from.isoformat() if self.date_from else "",
                "date_to": self.date_to.isoformat() if self.date_to else "",
                "amount_min": self.amount_min, "amount_max": self.amount_max,
                "currency": self.currency, "source": self.source, "method": self.method,
                "frequency": self.frequency, "q": self.q, "sort": self.sort,
                "direction": self.direction}
        return {k: v for k, v in args.items() if v not in ("", None)}


def parse_filters(args) -> DonationFilters:
    """Read filters from query-string values; anything unreadable is dropped
    and named in `errors` rather than failing the page."""
    f = DonationFilters()
    f.appeal_id = query_int(args.get("appeal"))
    status = (args.get("status") or "").strip()
    if status in states.ALL:
        f.status = status
    for name in ("date_from", "date_to"):
        value = (args.get(name) or "").strip()
        if value:
            try:
                day = date.fromisoformat(value[:10]) if len(value) == 10 else None
            except ValueError:
                day = None
            if day is not None and FIRST_YEAR <= day.year <= LAST_YEAR:
                setattr(f, name, day)
            else:
                f.errors.append(name)
    for name in ("amount_min", "amount_max"):
        value = (args.get(name) or "").strip()[:20]
        if value:
            try:
                # the most decimals any currency has; past the largest stored
                # amount the bound would overflow the database's BIGINT
                if abs(Money.parse(value, "BHD").minor) > MAX_MINOR:
                    raise MoneyError("too large")
                setattr(f, name, value)
            except MoneyError:
                f.errors.append(name)
    currency = (args.get("currency") or "").strip().upper()
    if re.fullmatch(r"[A-Z]{3}", currency):
        f.currency = currency
    f.source = (args.get("source") or "").strip()[:64]
    method = (args.get("method") or "").strip()
    if method in ("stripe", "offline"):
        f.method = method
    frequency = (args.get("frequency") or "").strip()
    if frequency in ("once", "monthly", "yearly"):
        f.frequency = frequency
    f.q = (args.get("q") or "").strip()[:100]
    sort = args.get("sort") or "date"
    f.sort = sort if sort in SORTS else "date"
    f.direction = "asc" if args.get("direction") == "asc" else "desc"
    return f


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _amount_bound(session, text: str, currencies: list[str], op):
    """amount >= / <= a typed major amount, read in each gift's own currency."""
    clauses = []
    for currency in currencies:
        try:
            minor = Money.parse(text, currency).minor
        except MoneyError:
            continue  # more decimals than this currency has: no gift matches
        clauses.append(and_(Donation.currency == currency, op(Donation.amount_minor, minor)))
    return or_(*clauses) if clauses else literal(False)


def filtered_donations(session, f: DonationFilters, join_payments: bool = True):
    query = select(Donation)
    if join_payments or f.status or f.method:
        query = query.join(Payment, Payment.id == Donation.payment_id)
    if f.appeal_id:
        query = query.where(Donation.appeal_id == f.appeal_id)
    if f.status:
        query = query.where(Payment.status == f.status)
    if f.date_from:
        query = query.where(Donation.created_at >= datetime.combine(f.date_from, time()))
    if f.date_to:
        query = query.where(Donation.created_at
                            < datetime.combine(f.date_to + timedelta(days=1), time()))
    if f.currency:
        query = query.where(Donation.currency == f.currency)
    if f.amount_min or f.amount_max:
        currencies = [f.currency] if f.currency else _currencies(session)
        if f.amount_min:
            query = query.where(_amount_bound(session, f.amount_min, currencies,
                                              lambda c, v: c >= v))
        if f.amount_max:
            query = query.where(_amount_bound(session, f.amount_max, currencies,
                                              lambda c, v: c <= v))
    if f.source:
        query = query.where(Donation.source == f.source)
    if f.method:
        query = query.where(Payment.provider == f.method)
    if f.frequency == "once":
        query = query.where(Donation.subscription_id.is_(None))
    elif f.frequency:
        interval = "year" if f.frequency == "yearly" else "month"
        query = query.where(Donation.subscription_id.in_(
            select(Subscription.id).where(Subscription.interval == interval)))
    if f.q:
        # One expression, matching the trigram index on PostgreSQL (migration c3ab801a7653).
        pattern = f"%{_escape_like(f.q.lower())}%"
        haystack = func.lower(Donation.email).concat(literal_column("' '")).concat(
            func.lower(Donation.donor_name))
        query = query.where(haystack.like(pattern, escape="\\"))
    return query


def donations_page(session, f: DonationFilters, page: int = 1, cursor: str = "",
                   per_page: int = PAGE_SIZE) -> DonationsPage:
    """One page of the table. Next/previous links carry a cursor (the sort
    value and id of the row at the edge), so a page deep in 100,000 rows costs
    what the first one does; a bare `page=N` (a typed address) uses OFFSET."""
    query = filtered_donations(session, f)
    # The count joins payments only when a payment column is filtered: on
    # 100k rows that is the difference between ~15 ms and ~100 ms.
    counted = filtered_donations(session, f, join_payments=False)
    total = session.scalar(counted.with_only_columns(func.count(Donation.id))
                           .order_by(None))
    pages = max(1, -(-total // per_page))
    column = SORTS[f.sort]
    ascending = f.direction == "asc"
    at = _read_cursor(cursor, f.sort)
    backwards = at is not None and at[1] == "p"
    forward = ascending != backwards     # the order the rows are read in
    order = (column.asc(), Donation.id.asc()) if forward else \
        (column.desc(), Donation.id.desc())
    query = query.add_columns(Payment.status, Payment.refunded_minor, Payment.provider,
                              Appeal.slug, Appeal.title, Appeal.currency) \
        .join(Appeal, Appeal.id == Donation.appeal_id).order_by(*order).limit(per_page)
    if at is not None:
        page, _way, value, row_id = at
        query = query.where(_beyond(column, value, row_id, forward))
    else:
        page = min(max(1, page), pages)
        query = query.offset((page - 1) * per_page)
    rows = session.execute(query).all()
    if backwards:
        rows.reverse()
    page = min(max(1, page), pages)
    prev_cursor = _cursor(page - 1, "p", rows[0], f.sort) if rows and page > 1 else ""
    next_cursor = _cursor(page + 1, "n", rows[-1], f.sort) if rows and page < pages else ""
    return DonationsPage(rows, total, page, pages, prev_cursor, next_cursor)


@dataclass
class DonationsPage:
    rows: list
    total: int
    page: int
    pages: int
    prev_cursor: str
    next_cursor: str


def _beyond(column, value, row_id, forward):
    """Rows after (value, id) in the reading order. The row comparison starts
    an index on (column, id) right at the cursor; the plain bound lets an
    index on the column alone (or none: the status sort) narrow it too."""
    pair, at = tuple_(column, Donation.id), tuple_(value, row_id)
    if forward:
        return and_(column >= value, pair > at)
    return and_(column <= value, pair < at)


def _sort_value(row, sort):
    donation = row[0]
    return {"date": lambda: donation.created_at.isoformat(),
            "amount": lambda: donation.amount_minor,
            "name": lambda: donation.donor_name, "status": lambda: row.status}[sort]()


def _cursor(page, way, row, sort) -> str:
    raw = json.dumps([page, way, _sort_value(row, sort), row[0].id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(text: str, sort: str):
    """(page, "n" | "p", sort value, id), or None for a missing or unreadable
    cursor (the table then starts from its first page)."""
    if not text or len(text) > 600:
        return None
    try:
        page, way, value, row_id = json.loads(base64.urlsafe_b64decode(
            text + "=" * (-len(text) % 4)))
        if sort == "date":
            value = datetime.fromisoformat(value)
        expected = {"date": datetime, "amount": int, "name": str, "status": str}[sort]
        if (type(value) is not expected or type(page) is not int or type(row_id) is not int
                or way not in ("n", "p") or not 1 <= page <= 10**7
                or not 1 <= row_id <= MAX_ID or not _value_in_range(value)):
            return None
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return page, way, value, row_id


def _value_in_range(value) -> bool:
    """A cursor's sort value the database can compare without overflowing."""
    if isinstance(value, datetime):
        return FIRST_YEAR <= value.year <= LAST_YEAR
    if isinstance(value, int):
        return abs(value) <= MAX_MINOR
    return len(value) <= 200


EXPORT_COLUMNS = (
    ("id", Donation.id), ("created_at", Donation.created_at), ("appeal", Appeal.slug),
    ("name", Donation.donor_name), ("email", Donation.email),
    ("amount_minor", Donation.amount_minor), ("currency", Donation.currency),
    ("status", Payment.status), ("refunded_minor", Payment.refunded_minor),
    ("method", Payment.provider), ("source", Donation.source),
    ("anonymous", Donation.is_anonymous), ("comment", Donation.comment),
    # A gift in another currency than its appeal's (issue 19): what it counts
    # for in the appeal's currency and the rate stored with it; blank otherwise.
    ("appeal_currency", Appeal.currency), ("counted_minor", Donation.converted_minor),
    ("rate", Donation.rate), ("rate_date", Donation.rate_date),
)


def iter_donations(session, f: DonationFilters, chunk: int = 1000):
    """Every filtered donation as a plain row (EXPORT_COLUMNS), by id, in
    chunks. Each chunk is its own short read, so a long export never holds a
    transaction open while webhooks need to write."""
    last_id = 0
    columns = [c for _, c in EXPORT_COLUMNS]
    while True:
        rows = session.execute(
            filtered_donations(session, f).with_only_columns(*columns)
            .join(Appeal, Appeal.id == Donation.appeal_id)
            .where(Donation.id > last_id).order_by(Donation.id).limit(chunk)).all()
        session.rollback()  # end the read before yielding: no lock held while streaming
        if not rows:
            return
        yield from rows
        last_id = rows[-1][0]


def _currencies(session) -> list[str]:
    # Every gift is in its appeal's currency: the small appeals table says
    # which currencies exist without scanning the donations.
    return sorted(session.scalars(select(Appeal.currency).distinct()))


def filter_choices(session) -> dict:
    return {
        "appeals": session.execute(select(Appeal.id, Appeal.title).order_by(Appeal.title)).all(),
        "currencies": _currencies(session),
    }


# -- one donation ---------------------------------------------------------------

def donation_history(session, donation: Donation) -> dict:
    payment = donation.payment
    events = []
    conditions = [WebhookEvent.payment_id == payment.id]
    if payment.intent_id:
        conditions.append(WebhookEvent.object_id == payment.intent_id)
    events = list(session.scalars(select(WebhookEvent).where(or_(*conditions))
                                  .order_by(WebhookEvent.received_at, WebhookEvent.id)))
    refunds = list(session.scalars(select(StaffRefund).where(StaffRefund.payment_id == payment.id)
                                   .order_by(StaffRefund.id)))
    audit = list(session.scalars(
        select(AuditEvent).where(AuditEvent.target_type == "donation",
                                 AuditEvent.target_id == str(donation.id))
        .order_by(AuditEvent.id)))
    offline = session.scalar(select(OfflineGift).where(OfflineGift.donation_id == donation.id))
    changes = list(session.scalars(
        select(PaymentStatusChange).where(PaymentStatusChange.payment_id == payment.id)
        .order_by(PaymentStatusChange.id)))
    return {"payment": payment, "events": events, "refunds": refunds, "audit": audit,
            "offline": offline, "changes": changes}


# -- donors ---------------------------------------------------------------------

def donors_query(session, q: str = ""):
    """One row per person, by lower(email): name (latest), gifts, lifetime
    giving per currency (net of refunds, counted gifts only)."""
    key = func.lower(Donation.email)
    net = case((Payment.status.in_(states.COUNTED),
                Payment.amount_minor - Payment.refunded_minor), else_=0)
    query = (select(key.label("email"), Donation.currency,
                    func.max(Donation.donor_name).label("name"),
                    func.count(Donation.id).label("gifts"),
                    func.sum(net).label("lifetime"),
                    func.min(Donation.created_at).label("first_at"),
                    func.max(Donation.created_at).label("last_at"))
             .join(Payment, Payment.id == Donation.payment_id)
             .where(Payment.status.in_((*states.COUNTED, states.REFUNDED,
                                        states.DISPUTED, states.DISPUTE_LOST)))
             .group_by(key, Donation.currency))
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        query = query.where(or_(key.like(pattern, escape="\\"),
                                func.lower(Donation.donor_name).like(pattern, escape="\\")))
    return query


def donors_page(session, q: str = "", page: int = 1, per_page: int = PAGE_SIZE):
    query = donors_query(session, q)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(query.order_by(func.sum(
        case((Payment.status.in_(states.COUNTED),
              Payment.amount_minor - Payment.refunded_minor), else_=0)).desc(),
        func.lower(Donation.email)).offset((page - 1) * per_page).limit(per_page)).all()
    return rows, total, page, pages


def donor_gifts(session, email: str) -> list[Donation]:
    return list(session.scalars(
        select(Donation).where(func.lower(Donation.email) == email.lower())
        .order_by(Donation.created_at.desc()).limit(500)))
