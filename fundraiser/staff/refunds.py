"""Money staff move by hand: refunding a card gift through the payment
service, and recording a gift that arrived offline (cheque, transfer, cash)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..appeals.models import Appeal
from ..donations import services as donations
from ..donations.forms import page_locale
from ..donations.models import Donation
from ..extensions import db
from ..limits import current as current_limits
from ..money import Money, MoneyError
from ..payments.gateway import GatewayError, OutcomeUnknown
from ..payments.models import utcnow
from . import offline_services, offline_voids, refund_services, services
from .auth import client_ip, staff_view
from .blueprint import _money, bp, commit
from .donations import _render_donation
from .forms import OfflineGiftForm, RefundForm, SelectChoice, VoidOfflineGiftForm
from .models import OFFLINE_GIFT, REFUND


@bp.post("/donations/<int:donation_id>/refund")
@staff_view(REFUND)
def refund(donation_id):
    d = db.get_or_404(Donation, donation_id)
    form = RefundForm()
    if not form.validate_on_submit():
        return _render_donation(d, form, status=422)
    try:
        amount = Money.parse(form.amount.data, d.currency)
        pending = refund_services.begin_refund(db.session, donation=d, amount_minor=amount.minor,
                                               reason=form.reason.data, actor=current_user,
                                               ip=client_ip())
    except MoneyError:
        db.session.rollback()
        form.amount.errors.append(_("Enter an amount like 25 or 25.50."))
        return _render_donation(d, form, status=422)
    except refund_services.RefundError as exc:
        db.session.rollback()
        form.amount.errors.append(_refund_message(str(exc)))
        return _render_donation(d, form, status=422)
    call = dict(intent_id=d.payment.intent_id, amount_minor=pending.amount_minor,
                key=refund_services.refund_key(d.payment.reference, pending.number))
    refund_id = pending.id
    # The reservation commits before the gateway is called: no lock is held
    # during the call, and a second refund cannot reserve the same money.
    commit()
    gateway = current_app.extensions["fundraiser.gateway"]
    try:
        result = gateway.refund(**call)
    except OutcomeUnknown as exc:
        # Stripe may have refunded: the money stays reserved and the refund
        # pending, and `flask reconcile` settles it from Stripe's own list.
        services.audit(db.session, current_user, "refund.unconfirmed", "donation", d.id,
                       ip=client_ip(), refund_id=refund_id, error=str(exc)[:300])
        commit()
        flash(_("The payment service did not confirm this refund. It stays pending, and "
                "the amount stays reserved, until a check with the payment service (within "
                "a few minutes) settles it. Do not refund it again."), "error")
        return redirect(url_for("staff.donation", donation_id=donation_id), code=303)
    except GatewayError as exc:
        refund_services.fail_refund(db.session, refund_id, str(exc), current_user, ip=client_ip())
        commit()
        flash(_("The payment service refused or did not answer; nothing was refunded. "
                "Try again in a minute."), "error")
        return redirect(url_for("staff.donation", donation_id=donation_id), code=303)
    refund_services.finish_refund(db.session, refund_id, result.refund_id, current_user,
                                  ip=client_ip())
    commit()
    flash(_("Refunded %(amount)s.", amount=_money(call["amount_minor"], d.currency)))
    return redirect(url_for("staff.donation", donation_id=donation_id), code=303)


def _refund_message(code: str) -> str:
    return {
        "a reason is required": _("Say why this gift is refunded."),
        "only card gifts can be refunded through the payment service":
            _("Only card gifts can be refunded here. Return an offline gift by hand."),
        "only a succeeded gift can be refunded": _("Only a succeeded gift can be refunded."),
        "the amount must be positive": _("The amount must be more than zero."),
        "more than is left to refund": _("That is more than is left to refund."),
    }.get(code, code)


# -- offline gifts --------------------------------------------------------------

@bp.route("/gifts/new", methods=["GET", "POST"])
@staff_view(OFFLINE_GIFT)
def offline_gift():
    form = OfflineGiftForm()
    appeal_list = list(db.session.scalars(select(Appeal).order_by(Appeal.title)))
    form.appeal.choices = [SelectChoice(a.id, f"{a.title} ({a.currency})") for a in appeal_list]
    form.currency.choices = [SelectChoice("", _("The appeal's own currency"))] + [
        SelectChoice(c, c) for c in sorted({c for a in appeal_list
                                            for c in a.accepted_currencies})]
    if form.validate_on_submit():
        appeal = db.session.get(Appeal, form.appeal.data)
        if form.received_on.data > utcnow().date() + timedelta(days=1):
            form.received_on.errors.append(_("The date is in the future. Enter the day the "
                                              "gift arrived."))
        elif appeal is None:
            abort(400)
        else:
            return _record_offline(form, appeal)
    status = 422 if form.errors else 200
    return render_template("staff/offline_gift.html", form=form), status


def _record_offline(form, appeal):
    currency = form.currency.data or appeal.currency
    refused = _currency_refused(appeal, currency)
    if refused:
        form.currency.errors.append(refused)
        return render_template("staff/offline_gift.html", form=form), 422
    try:
        amount = Money.parse(form.amount.data, currency, page_locale())
        if amount.minor <= 0:
            raise MoneyError("zero")
    except MoneyError:
        form.amount.errors.append(_("Enter an amount like 25 or 25.50, in %(currency)s.",
                                    currency=currency))
        return render_template("staff/offline_gift.html", form=form), 422
    largest = current_limits().largest(currency)
    if amount.minor > largest.minor:
        form.amount.errors.append(_("The amount can be at most %(largest)s.",
                                    largest=_money(largest.minor, largest.currency)))
        return render_template("staff/offline_gift.html", form=form), 422
    try:
        d = offline_services.record_offline_gift(
            db.session, appeal=appeal, amount=amount, name=form.name.data,
            email=form.email.data, method=form.method.data, received_on=form.received_on.data,
            note=form.note.data or "", actor=current_user, ip=client_ip(),
            limits=current_limits())
    except donations.CurrencyRefused as exc:  # the rate went between the check and now
        db.session.rollback()
        form.currency.errors.append(_refusal(appeal, currency, exc))
        return render_template("staff/offline_gift.html", form=form), 422
    commit()
    flash(_("Recorded %(amount)s from %(name)s.", amount=_money(amount.minor, amount.currency),
            name=d.donor_name))
    return redirect(url_for("staff.donation", donation_id=d.id), code=303)


def _currency_refused(appeal, currency: str) -> str:
    """Why a gift in `currency` cannot be recorded for `appeal`, or ""."""
    try:
        donations.gift_quote(db.session, appeal, currency)
    except donations.CurrencyRefused as exc:
        return _refusal(appeal, currency, exc)
    return ""


def _refusal(appeal, currency: str, exc: Exception) -> str:
    if str(exc) == donations.NOT_ACCEPTED:
        return _("This appeal does not take %(currency)s. It takes %(accepted)s.",
                 currency=currency, accepted=", ".join(appeal.accepted_currencies))
    return _("There is no exchange rate from %(currency)s to %(appeal_currency)s, so "
             "the gift cannot be counted. Set one on the exchange rates page first.",
             currency=currency, appeal_currency=appeal.currency)


@bp.post("/donations/<int:donation_id>/void")
@staff_view(OFFLINE_GIFT)
def void_offline(donation_id):
    """Void an offline gift entered in error or a cheque that bounced: it
    stops counting everywhere, and who, when and why go in the audit log."""
    d = db.get_or_404(Donation, donation_id)
    form = VoidOfflineGiftForm()
    if not form.validate_on_submit():
        return _render_donation(d, void_form=form, status=422)
    try:
        offline_voids.void_offline_gift(db.session, d.id, reason=form.reason.data,
                                        actor=current_user, ip=client_ip())
    except offline_voids.VoidError as exc:
        db.session.rollback()
        form.reason.errors.append(_void_message(str(exc)))
        return _render_donation(db.get_or_404(Donation, donation_id), void_form=form,
                                status=422)
    commit()
    flash(_("Voided %(amount)s from %(name)s. It no longer counts anywhere.",
            amount=_money(d.amount_minor, d.currency), name=d.donor_name))
    return redirect(url_for("staff.donation", donation_id=donation_id), code=303)


def _void_message(code: str) -> str:
    return {
        "a reason is required": _("Say why this gift is void."),
        "reason not accepted": _("The reason is too long or holds control characters."),
        "not an offline gift": _("Only an offline gift can be voided. Refund a card gift."),
        "already voided": _("This gift is already void."),
        "not counted": _("This gift no longer counts, so there is nothing to void."),
    }.get(code, code)
