"""Receipts: sent once when a payment succeeds, right after its match is
allocated (called from matching_hooks.on_succeeded), and only once the
transaction that recorded the success has committed. Two jobs (inline
without Redis): `prepare_waiting_receipts` claims each receipt waiting,
gives the gift its number and words the mail, each in a short transaction
of its own — not in the one that holds the pool's lock, so 32 gifts on one
pool do not queue behind the receipt counter too; `send_receipt_email`
renders the PDF receipt (receipt_pdf.py), attaches it and sends it, retried
when the mail server fails. The queue carries ids and text, not a document.

Which receipts wait is the database's to say (a gift succeeded, its receipt
not claimed, its donor not erased), not the queue's: a gift only asks for
the job, and any number of asks before a mailer starts it make one job
(jobs.enqueue_coalesced) that prepares every receipt waiting. A job per gift
cost each gift more in RQ's bookkeeping than in the rest of its success, and
a receipt whose job was lost (Redis restarted) is found by the scheduler's
sweep (`tasks.overdue_receipts`)."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..appeals import services as appeals
from ..appeals.models import Appeal
from ..jobs import coalesced_started, enqueue, enqueue_coalesced, mail_job, queue, send_email
from ..matching import card_pledges
from ..matching import ledger as match_ledger
from ..money import Money
from ..payments.models import Payment, utcnow
from . import receipt_numbers, receipt_pdf, services
from .models import Donation, is_erased_email

log = logging.getLogger(__name__)

BATCH = 50  # receipts per job (a PDF each is rendered later, by send_receipt_email)


def send_receipt(session, payment_id: int, matched_minor: int | None = None) -> None:
    """Ask for the gift's receipt. Called inside the transaction that
    recorded the success, which holds the pool's lock while it lasts: so it
    only asks for `prepare_waiting_receipts`, which numbers, words and sends
    it in a transaction of its own once this one has committed.
    `matched_minor` may be given when the caller has it (the inline run uses
    it). Without a queue (the embedded run) it is done here, in this
    transaction: an inline job would need a second connection while this
    one is held."""
    if queue() is None:
        _prepare(session, payment_id, matched_minor)
    else:
        enqueue_coalesced(prepare_waiting_receipts)


def waiting_receipts(session, *, older_than: timedelta | None = None,
                     limit: int = BATCH) -> list[int]:
    """The payment ids of gifts whose receipt waits (succeeded, not claimed,
    donor not erased), oldest first; only those that succeeded `older_than`
    ago or more when given. However long ago: a gift entered by staff with
    last month's date waits like today's (and a receipt whose job failed
    for good is still owed)."""
    query = (select(Donation.payment_id)
             .join(Payment, Payment.id == Donation.payment_id)
             .where(Donation.receipt_sent_at.is_(None), Donation.erased_at.is_(None),
                    Payment.succeeded_at.is_not(None)))
    if older_than is not None:
        query = query.where(Payment.succeeded_at <= utcnow() - older_than)
    return list(session.scalars(query.order_by(Donation.payment_id).limit(limit)))


@mail_job
def prepare_waiting_receipts() -> int:
    """Prepare the receipts waiting, oldest first, one transaction each, at
    most BATCH of them; returns how many were prepared. When more may wait,
    it asks for another job and ends: a worker that takes both queues goes
    back to them in order, money first, between batches. A receipt that
    fails is passed over; the job then raises, so the queue retries it
    later, with back-off. Two of these at once (two mailers) prepare each
    receipt once: claiming it is a conditional UPDATE."""
    from ..extensions import db

    coalesced_started(prepare_waiting_receipts)
    batch = waiting_receipts(db.session, limit=BATCH)
    db.session.rollback()
    failed, prepared = [], 0
    for payment_id in batch:
        try:
            if _prepare(db.session, payment_id, None):
                db.session.commit()
                prepared += 1
            else:  # claimed meanwhile (another mailer), or the donor erased
                db.session.rollback()
        except Exception:  # noqa: BLE001 — passed over, retried below
            db.session.rollback()
            log.exception("receipt for payment %s not prepared; left for a retry", payment_id)
            failed.append(payment_id)
    if batch:
        log.info("receipts prepared: %s of %s waiting (payments %s to %s)", prepared,
                 len(batch), batch[0], batch[-1])
    if len(batch) == BATCH and prepared:  # (none prepared: the retry's back-off, not a spin)
        enqueue_coalesced(prepare_waiting_receipts)  # the rest, after any money job
    if failed:
        raise RuntimeError(f"{len(failed)} receipt(s) failed and wait for a retry")
    return prepared


@mail_job
def prepare_receipt(payment_id: int, matched_minor: int | None = None) -> None:
    """One gift's receipt, as jobs queued before `prepare_waiting_receipts`
    asked for it (they may still wait in a queue after an upgrade)."""
    from ..extensions import db

    if _prepare(db.session, payment_id, matched_minor):
        db.session.commit()
    else:
        db.session.rollback()


def _prepare(session, payment_id: int, matched_minor: int | None) -> bool:
    """Claim the receipt (once per gift, however often asked), give it its
    number, word it in the donor's language and queue the mail once the
    transaction commits. False when there is nothing to send."""
    donation = services.by_payment_id(session, payment_id)
    if donation is None or donation.erased_at is not None \
            or not services.claim_receipt(session, donation.id):
        return False  # sent already, or the donor erased their address
    donation.receipt_number = receipt_numbers.assign(session, donation.id)
    # In the language the donor gave in (a webhook or `reconcile` may send it
    # later, outside any request): its words and the appeal's title.
    title = appeals.text_for(session, donation.appeal, donation.locale).title
    with force_locale(donation.locale):
        if matched_minor is None:
            matched_minor = match_ledger.net_for_payment(session, payment_id)
        body = render_template("donations/receipt.txt", donation=donation, title=title,
                               matched_minor=matched_minor,
                               matched=Money(matched_minor, donation.appeal.currency),
                               method=receipt_pdf.payment_method(donation),
                               counted=receipt_pdf.conversion_note(donation,
                                                                   donation.locale))
        subject = _("Thank you for your gift to %(title)s", title=title)
    facts = receipt_pdf.receipt_facts(session, donation)
    enqueue(send_receipt_email, facts, str(subject), body, [donation.email],
            f"receipt, donation {donation.id}")
    return True


@mail_job
def send_receipt_email(facts: dict, subject: str, body: str, to: list[str],
                       what: str = "") -> None:
    """The receipt email with its PDF attached (unless RECEIPT_PDF_ATTACHED
    is off), rendered here (in the worker) from the plain facts it was queued
    with: no database connection needed, so an inline run never waits for a
    second one. An SMTP failure raises, so the queue retries it."""
    from flask_mailman import EmailMessage

    message = EmailMessage(subject=subject, body=body, to=to)
    if current_app.config.get("RECEIPT_PDF_ATTACHED", True):
        org = receipt_pdf.Organisation.from_config(current_app.config)
        message.attach(receipt_pdf.filename(facts, org), receipt_pdf.render_receipt(facts, org),
                       "application/pdf")
    message.send()
    log.info("mail sent: %s", what or subject)


@dataclass(frozen=True)
class PledgeCharge:
    """What any mail about a saved-card pledge's closing charge says, in the
    language of the pledger's own gift (their pledge came from its page)."""

    locale: str
    title: str
    charge: Payment
    amount: str     # the charge, formatted for the locale
    pledged: str    # the pledge, formatted for the locale


def pledge_charge_facts(session, pledge) -> PledgeCharge:
    origin = services.by_payment_id(session, pledge.origin_payment_id) \
        if pledge.origin_payment_id else None
    locale = origin.locale if origin is not None else "en"
    appeal = session.get(Appeal, pledge.appeal_id)
    charge = session.get(Payment, pledge.charge_payment_id)
    return PledgeCharge(locale=locale, title=appeals.text_for(session, appeal, locale).title,
                        charge=charge,
                        amount=Money(charge.amount_minor, charge.currency).format(locale),
                        pledged=Money(pledge.amount_minor, pledge.currency).format(locale))


def send_pledge_charge_receipt(session, pledge) -> None:
    """The receipt for a saved-card pledge's closing charge (it has no
    donation of its own): once, in the language of the pledger's own gift."""
    if is_erased_email(pledge.pledger_email) \
            or not card_pledges.claim_charge_receipt(session, pledge.id):
        return  # sent already, or the pledger erased their address
    facts = pledge_charge_facts(session, pledge)
    with force_locale(facts.locale):
        body = render_template(
            "donations/pledge_charge_receipt.txt", name=pledge.pledger_name, title=facts.title,
            amount=facts.amount, pledged=facts.pledged, reference=facts.charge.reference,
            charge=facts.charge)
        subject = _("Your matching pledge to %(title)s: %(amount)s charged", title=facts.title,
                    amount=facts.amount)
    enqueue(send_email, str(subject), body, [pledge.pledger_email],
            f"receipt, pledge {pledge.id} charge")
