"""Gifts as staff see them: the filtered table, one gift's page with its
payment history, the CSV export, and the words for a payment's status."""

from __future__ import annotations

import json
from datetime import datetime

from flask import render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..donations.models import Donation
from ..donations.receipt_pdf import conversion_note, payment_method
from ..extensions import db
from ..money import Money
from ..payments import states
from ..rates.convert import share_of
from . import refund_services, reports, services
from .auth import client_ip, staff_view
from .blueprint import _page_arg, bp, commit
from .csv_export import _stream_csv
from .forms import RefundForm, VoidOfflineGiftForm
from .models import EXPORT, VIEW

# -- donations ------------------------------------------------------------------

STATUS_LABELS = {
    states.CREATED: "Started", states.PROCESSING: "Processing",
    states.REQUIRES_ACTION: "Needs authentication", states.SUCCEEDED: "Succeeded",
    states.FAILED: "Failed", states.CANCELED: "Canceled",
    states.PARTIALLY_REFUNDED: "Partly refunded", states.REFUNDED: "Refunded",
    states.DISPUTED: "Disputed", states.DISPUTE_LOST: "Dispute lost",
}


def N_(text):
    return text


_STATUS_MSGIDS = (N_("Started"), N_("Processing"), N_("Needs authentication"),
                  N_("Succeeded"), N_("Failed"), N_("Canceled"), N_("Partly refunded"),
                  N_("Refunded"), N_("Disputed"), N_("Dispute lost"))


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


@bp.app_template_filter("offline_method")
def _method_filter(method):
    return {"cheque": _("Cheque"), "bank_transfer": _("Bank transfer"),
            "cash": _("Cash")}.get(method, method)


@bp.app_template_filter("staff_status")
def _status_filter(status):
    return status_label(status)


@bp.app_template_filter("status_cause")
def _cause_filter(cause):
    """A payment status change's cause (see payments.services.caused_by), in words."""
    fixed = {"gateway answer": _("the payment service's answer to our request"),
             "card submitted": _("the donor submitted the card"),
             "history begins": _("the status when this history began"),
             "reconcile": _("reconcile, checking with the payment service"),
             "charge-pledges": _("a saved-card pledge charged at the close")}
    if cause in fixed:
        return fixed[cause]
    for prefix, words in (("webhook ", _("event from the payment service: %(what)s")),
                          ("refund by ", _("refund by %(what)s")),
                          ("offline gift entered by ", _("offline gift entered by %(what)s")),
                          ("offline gift voided by ", _("offline gift voided by %(what)s"))):
        if cause.startswith(prefix):
            return words % {"what": cause[len(prefix):]}
    return cause


@bp.get("/donations")
@staff_view(VIEW)
def donations():
    filters = reports.parse_filters(request.args)
    table = reports.donations_page(db.session, filters, _page_arg(),
                                   request.args.get("cursor", ""))
    return render_template("staff/donations.html", rows=table.rows, total=table.total,
                           table=table, f=filters,
                           choices=reports.filter_choices(db.session), statuses=states.ALL)


@bp.get("/donations/<int:donation_id>")
@staff_view(VIEW)
def donation(donation_id):
    d = db.get_or_404(Donation, donation_id)
    form = RefundForm(formdata=None)
    form.amount.data = str(Money(refund_services.refundable_minor(db.session, d.payment),
                                 d.currency).as_decimal())
    return _render_donation(d, form)


def _render_donation(d, form=None, *, void_form=None, status=200):
    """One gift's page; a refused refund or void shows its form's errors."""
    history = reports.donation_history(db.session, d)
    events = [(e, _event_summary(e)) for e in history.pop("events")]
    form = form or RefundForm(formdata=None)
    void_form = void_form or VoidOfflineGiftForm(formdata=None)
    return render_template("staff/donation.html", d=d, form=form, void_form=void_form,
                           counted=conversion_note(d, str(get_locale())),
                           method=payment_method(d),  # "Visa card ending 4242", as the receipt
                           events=events,
                           refundable=refund_services.refundable_minor(db.session, d.payment),
                           refund_errors=_refund_errors(), **history), status


def _refund_errors() -> dict[str, str]:
    """Our own words for a failed refund; the gateway's stay as it said them."""
    return {
        refund_services.REFUND_NOT_AT_GATEWAY: _("The payment service never received this refund "
                                          "(found by reconcile); nothing was refunded."),
        refund_services.REFUND_NOT_MADE: _("The payment service did not make this refund "
                                    "(found by reconcile); nothing was refunded."),
    }


def _event_summary(event) -> str:
    try:
        obj = json.loads(event.payload)["data"]["object"]
    except (ValueError, KeyError, TypeError):
        return ""
    parts = [str(obj.get(k)) for k in ("status", "amount", "amount_refunded", "currency")
             if obj.get(k) not in (None, "")]
    return " · ".join(parts)


@bp.get("/donations.csv")
@staff_view(EXPORT)
def donations_csv():
    filters = reports.parse_filters(request.args)
    services.audit(db.session, current_user, "export.donations", ip=client_ip(),
                   filters=filters.as_args())
    commit()
    names = [name for name, _c in reports.EXPORT_COLUMNS]
    at = names.index("currency") + 1
    header = names[:at] + ["amount", "refunded"] + names[at:]

    def rows():
        for row in reports.iter_donations(db.session, filters):
            values = dict(zip(names, row, strict=True))
            extra = [format(Money(values[k], values["currency"]).as_decimal(), "f")
                     for k in ("amount_minor", "refunded_minor")]
            if values["counted_minor"] is not None:  # net of refunds, as the totals count it
                counted = share_of(values["counted_minor"], values["amount_minor"],
                                   values["amount_minor"] - values["refunded_minor"])
                values["counted_minor"] = counted
            yield list(row[:at]) + extra + [values[n] for n in names[at:]]

    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return _stream_csv(header, rows(), f"donations-{stamp}.csv")
