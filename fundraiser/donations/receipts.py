"""Receipts: sent once when a payment succeeds (listener on the signal)."""

import logging

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mailman import EmailMessage

from .. import signals
from . import services

log = logging.getLogger(__name__)


def on_payment_succeeded(sender, payment_id: int, session, **_kw):
    donation = services.by_payment_id(session, payment_id)
    if donation is None or not services.claim_receipt(session, donation.id):
        return
    with force_locale(donation.locale):
        body = render_template("donations/receipt.txt", donation=donation)
        subject = _("Thank you for your gift to %(title)s", title=donation.appeal.title)
    try:
        EmailMessage(subject=subject, body=body, to=[donation.email]).send()
    except OSError:
        # The gift stands; the receipt can be re-sent from the staff side.
        log.exception("receipt for donation %s not sent", donation.id)


def connect():
    signals.payment_succeeded.connect(on_payment_succeeded)
