"""Receipts: sent once when a payment succeeds, right after its match is
allocated (called from matching_hooks.on_succeeded), and only once the
transaction that recorded the success has committed. Two jobs (inline
without Redis): `prepare_receipt` claims the receipt, gives the gift its
number and words the mail in a short transaction of its own — not in the
one that holds the pool's lock, so 32 gifts on one pool do not queue behind
the receipt counter too; `send_receipt_email` renders the PDF receipt
(receipt_pdf.py), attaches it and sends it, retried when the mail server
fails. The queue carries ids and text, not a document."""

import logging
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from ..appeals import services as appeals
from ..appeals.models import Appeal
from ..jobs import enqueue, mail_job, queue, send_email
from ..matching import card_pledges
from ..matching import ledger as match_ledger
from ..money import Money
from ..payments.models import Payment
from . import receipt_numbers, receipt_pdf, services
from .models import is_erased_email

log = logging.getLogger(__name__)


def send_receipt(session, payment_id: int, matched_minor: int | None = None) -> None:
    """Ask for the gift's receipt. Called inside the transaction that
    recorded the success, which holds the pool's lock while it lasts: so it
    only queues `prepare_receipt`, which numbers, words and sends the receipt
    in a transaction of its own once this one has committed. `matched_minor`
    may be given when the caller has it (None: looked up by the job).
    Without a queue (the embedded run) it is done here, in this transaction:
    an inline job would need a second connection while this one is held."""
    if queue() is None:
        _prepare(session, payment_id, matched_minor)
    else:
        enqueue(prepare_receipt, payment_id, matched_minor)


@mail_job
def prepare_receipt(payment_id: int, matched_minor: int | None = None) -> None:
    """The queued receipt: claimed, numbered and worded in one transaction; a
    failure before the commit leaves it unclaimed, and the queue retries."""
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
