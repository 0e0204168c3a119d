"""Receipts: sent once when a payment succeeds, right after its match is
allocated (called from matching_hooks.on_succeeded), and only once the
transaction that recorded the success has committed."""

import logging

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mailman import EmailMessage

from ..after_commit import after_commit
from ..appeals import services as appeals
from ..matching import services as matching
from ..money import Money
from . import services

log = logging.getLogger(__name__)


def send_receipt(session, payment_id: int, donation=None,
                 matched_minor: int | None = None) -> None:
    """`donation` and `matched_minor` may be given when the caller has them
    (None: looked up here)."""
    donation = donation or services.by_payment_id(session, payment_id)
    if donation is None or not services.claim_receipt(session, donation.id):
        return
    # In the language the donor gave in (a webhook or `reconcile` may send it
    # later, outside any request): its words and the appeal's title.
    title = appeals.text_for(session, donation.appeal, donation.locale).title
    with force_locale(donation.locale):
        if matched_minor is None:
            matched_minor = matching.net_for_payment(session, payment_id)
        body = render_template("donations/receipt.txt", donation=donation, title=title,
                               matched_minor=matched_minor,
                               matched=Money(matched_minor, donation.currency))
        subject = _("Thank you for your gift to %(title)s", title=title)
    message = EmailMessage(subject=subject, body=body, to=[donation.email])
    donation_id = donation.id

    def deliver():
        try:
            message.send()
        except OSError:
            # The gift stands; the receipt can be re-sent from the staff side.
            log.exception("receipt for donation %s not sent", donation_id)

    after_commit(session, deliver)

