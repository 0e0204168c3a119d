"""Annual statements: one PDF per donor email per calendar year, every gift
of that year listed (refunds deducted), sent by mail as queued jobs.

`queue_statements(session, year)` records one `StatementSent` row per email
before it queues that email's job, in the caller's transaction: run twice,
the second run finds every row and queues nothing. The job renders the PDF
when it runs, from the gifts as they stand then."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..appeals import services as appeals
from ..extensions import db
from ..jobs import enqueue, mail_job
from ..money import Money
from ..payments import states
from ..payments.models import Payment, utcnow
from ..pdf import ltr
from . import receipt_numbers
from .models import Donation, StatementSent
from .receipt_pdf import RECEIPTED, Organisation, long_date, new_page

log = logging.getLogger(__name__)

FIRST_YEAR = 2000
# A statement queued this long ago and still not sent is queued again by the
# next run (its job failed for good; a worker's retries end well before).
RETRY_AFTER = timedelta(hours=1)


class BadYear(ValueError):
    """A year statements cannot be sent for; the message says why."""


@dataclass
class Statement:
    email: str
    year: int
    name: str = ""
    locale: str = "en"
    gifts: list[Donation] = field(default_factory=list)

    def totals(self) -> dict[str, tuple[int, int, int]]:
        """Per currency: (given, refunded, net) in minor units."""
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for gift in self.gifts:
            given, refunded = gift.payment.amount_minor, returned_minor(gift.payment)
            row = sums[gift.currency]
            row[0] += given
            row[1] += refunded
            row[2] += given - refunded
        return {currency: tuple(row) for currency, row in sorted(sums.items())}


def returned_minor(payment: Payment) -> int:
    """What went back to the donor: refunds, or all of it when the card
    holder's bank took the payment back (disputed or lost)."""
    if payment.status in (states.DISPUTED, states.DISPUTE_LOST):
        return payment.amount_minor
    return payment.refunded_minor


def check_year(year: int, today: datetime) -> None:
    if year < FIRST_YEAR or year > today.year:
        raise BadYear(f"{year} is not a year with gifts: give a year from {FIRST_YEAR} "
                      f"to {today.year - 1}.")
    if year == today.year:
        raise BadYear(f"{year} is not over yet: its statements can be sent from "
                      f"1 January {year + 1}. The last finished year is {year - 1}.")


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1), datetime(year + 1, 1, 1)


def donor_emails(session, year: int, exclude=None) -> list[str]:
    """Emails with at least one gift that succeeded in `year` and still
    counts (a donor whose every gift was refunded gets no statement; one who
    erased their data in the donor portal has no address to send to).
    `exclude`: a SELECT of donation ids that do not count here."""
    start, end = _year_bounds(year)
    query = (select(Donation.email).join(Payment, Payment.id == Donation.payment_id)
             .where(Payment.status.in_(states.COUNTED), Payment.succeeded_at >= start,
                    Payment.succeeded_at < end, func.length(Donation.email) > 0,
                    Donation.erased_at.is_(None)))  # erased in the donor portal: no mail
    if exclude is not None:
        query = query.where(Donation.id.not_in(exclude))
    return list(session.scalars(query.group_by(Donation.email).order_by(Donation.email)))


def statement_for(session, email: str, year: int) -> Statement:
    """Every gift from `email` that succeeded in `year`, oldest first; the
    name and language are those of the latest."""
    start, end = _year_bounds(year)
    gifts = list(session.scalars(
        select(Donation).join(Payment, Payment.id == Donation.payment_id)
        .where(Donation.email == email, Payment.status.in_(RECEIPTED),
               Payment.succeeded_at >= start, Payment.succeeded_at < end)
        .order_by(Payment.succeeded_at, Donation.id)))
    statement = Statement(email=email, year=year, gifts=gifts)
    if gifts:
        statement.name, statement.locale = gifts[-1].donor_name, gifts[-1].locale or "en"
    return statement


class Queued(NamedTuple):
    new: int        # statements queued for the first time
    again: int      # queued before but never sent (the job failed for good): queued again
    sent: int       # sent before: not again


def queue_statements(session, year: int, today: datetime | None = None,
                     exclude=None) -> Queued:
    """Queue one statement job per donor email of `year` not sent before,
    and again for one queued more than RETRY_AFTER ago and still not sent
    (its job failed for good, or ran inline when the mail server was down).
    BadYear for a year that has not ended or is out of range. `exclude`: a
    SELECT of donation ids whose donors are not written to for them (demo
    gifts). The jobs run once the caller commits."""
    now = today or utcnow()
    check_year(year, now)
    known = {row.email: row for row in session.scalars(
        select(StatementSent).where(StatementSent.year == year))}
    claimed, again, sent = [], [], 0
    for email in donor_emails(session, year, exclude):
        row = known.get(email)
        if row is not None:
            if row.sent_at is None and row.queued_at < now - RETRY_AFTER:
                row.queued_at = now
                again.append(email)
            else:
                sent += 1
            continue
        try:
            with session.begin_nested():  # another run at the same moment: theirs
                session.add(StatementSent(email=email, year=year, queued_at=now))
        except IntegrityError:
            sent += 1
            continue
        claimed.append(email)
    session.flush()
    # Queued only now: a savepoint's release counts as a commit for the
    # after-commit hooks, and a job run then would meet our open transaction.
    for email in claimed + again:
        enqueue(send_statement_email, email, year)
    return Queued(len(claimed), len(again), sent)


def _money(minor: int, currency: str, locale: str) -> str:
    return Money(minor, currency).format(locale)


def render_statement(session, statement: Statement, org: Organisation) -> bytes:
    locale = statement.locale
    with force_locale(locale):
        heading = _("Annual statement %(year)s", year=statement.year)
        page = new_page(org, heading, locale)
        page.heading(heading)
        page.facts([(_("Donor"), statement.name), (_("Email"), ltr(statement.email)),
                    (_("Period"), _("1 January to 31 December %(year)s",
                                    year=statement.year))])
        titles = {}
        rows = []
        for gift in statement.gifts:
            if gift.appeal_id not in titles:
                titles[gift.appeal_id] = appeals.text_for(session, gift.appeal, locale).title
            returned = returned_minor(gift.payment)
            rows.append([
                long_date(gift.payment.succeeded_at, locale, "medium"), titles[gift.appeal_id],
                ltr(receipt_numbers.formatted(gift.receipt_number, org.receipt_prefix)),
                _money(gift.payment.amount_minor, gift.currency, locale),
                _money(returned, gift.currency, locale) if returned else "",
            ])
        page.table([_("Date"), _("Appeal"), _("Receipt"), _("Amount"), _("Refunded")], rows,
                   [0.2, 0.34, 0.14, 0.16, 0.16], numeric=(3, 4))
        totals = [[_("Total given in %(currency)s", currency=currency),
                   _money(net, currency, locale)]
                  for currency, (_given, _refunded, net) in statement.totals().items()]
        page.table(None, totals, [0.68, 0.32], numeric=(1,), lines=False,
                   bold_rows=tuple(range(len(totals))))
        page.text(_("Refunded amounts are deducted from the total."), size=9.5, muted=True)
        page.text(_("No goods or services were received in exchange for these gifts."))
        page.text(_("Thank you for your support."))
        return page.output()


@mail_job
def send_statement_email(email: str, year: int) -> None:
    """The statement for (email, year), rendered and mailed now. An SMTP
    failure raises, so the queue retries it."""
    from flask_mailman import EmailMessage

    if db.session.scalar(select(StatementSent.sent_at).where(
            StatementSent.email == email, StatementSent.year == year)) is not None:
        return  # sent already (a job queued again while the first was slow)
    statement = statement_for(db.session, email, year)
    if not statement.gifts:
        return
    org = Organisation.from_config(current_app.config)
    pdf = render_statement(db.session, statement, org)
    with force_locale(statement.locale):
        subject = _("Your gifts in %(year)s: your annual statement", year=year)
        body = render_template("donations/statement.txt", statement=statement, org=org)
    message = EmailMessage(subject=str(subject), body=body, to=[email])
    message.attach(f"statement-{year}.pdf", pdf, "application/pdf")
    message.send()
    db.session.execute(update(StatementSent).where(StatementSent.email == email,
                                                   StatementSent.year == year)
                       .values(sent_at=utcnow()))
    db.session.commit()
    log.info("mail sent: annual statement %s for %s gifts", year, len(statement.gifts))
