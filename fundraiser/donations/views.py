"""The gift flow: details form → card page → (3-D Secure) → thank-you page."""

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from ..appeals import services as appeals
from ..extensions import db, limiter
from ..matching import services as matching
from ..payments import services as payments
from ..payments import states
from ..payments.gateway import GatewayError
from . import match_views, services
from .forms import DonationForm

bp = Blueprint("donations", __name__)


def N_(text):  # marks a message for the catalogue; translated where shown
    return text


# Messages that come from the payment processor, so the catalogue has them.
GATEWAY_MESSAGES = (
    N_("Your card was declined."),
    N_("The payment was not completed."),
    N_("The payment service never received this payment."),
    N_("The payment service did not answer. Nothing was charged; please try again."),
)


def donation_form(appeal, **kwargs):
    """The gift form; reads the request's form data unless formdata=None."""
    cfg = current_app.config
    return DonationForm(appeal=appeal, min_major=cfg["DONATION_MIN_MAJOR"],
                        max_major=cfg["DONATION_MAX_MAJOR"], **kwargs)


def _donation_or_404(public_id):
    donation = services.by_public_id(db.session, public_id)
    if donation is None:
        abort(404)
    return donation


@bp.post("/appeals/<slug>/give")
@limiter.limit(lambda: current_app.config.get("GIVE_RATE_LIMIT", "30 per minute"))
def give(slug):
    appeal = appeals.get_public(db.session, slug)
    if appeal is None:
        abort(404)
    form = donation_form(appeal)
    if not appeal.accepts_gifts():
        form.form_errors.append(_("This appeal is no longer taking gifts. Thank you for caring."))
    elif form.validate_on_submit():
        donation = services.start_donation(
            db.session, appeal, amount=form.money, name=form.name.data,
            email=form.email.data, display_name=form.display_name.data or "",
            anonymous=form.anonymous.data, comment=form.comment.data or "",
            consent=form.consent.data, locale=str(get_locale()), source=form.source.data or "",
        )
        db.session.commit()
        return redirect(url_for("donations.pay", public_id=donation.public_id), code=303)
    from ..appeals.views import render_appeal  # same floor; the page owns the form
    return render_appeal(appeal, form), 422


@bp.get("/give/<public_id>")
def pay(public_id):
    donation = _donation_or_404(public_id)
    if donation.payment.status != states.CREATED:
        return redirect(url_for("donations.thanks", public_id=public_id))
    gateway = current_app.extensions["fundraiser.gateway"]
    funded = matching.pledge_funded_by(db.session, donation.payment_id)
    match_note = "" if funded else match_views.preview_message(
        donation.appeal_id, match_views.donation_preview(donation), donation.source or None)
    return render_template("donations/pay.html", donation=donation, appeal=donation.appeal,
                           text=appeals.text_for(db.session, donation.appeal,
                                                 str(get_locale())),
                           stripe_js_url=gateway.js_url,
                           stripe_key=gateway.publishable_key, match_note=match_note,
                           funded_pledge=funded)


def _state_json(donation, **extra):
    db.session.refresh(donation.payment)
    status = donation.payment.status
    body = {"status": status, "message": status_message(donation.payment),
            "next": url_for("donations.thanks", public_id=donation.public_id)}
    body.update(extra)
    return jsonify(body)


@bp.post("/give/<public_id>/charge")
@limiter.limit(lambda: current_app.config.get("CHARGE_RATE_LIMIT", "10 per minute"))
def charge(public_id):
    donation = _donation_or_404(public_id)
    data = request.get_json(silent=True) or request.form
    token = data.get("token") if hasattr(data, "get") else None
    if not isinstance(token, str) or not token.startswith("tok_") or len(token) > 255:
        return jsonify(status="invalid", message=_("The card details did not reach us. "
                                                   "Please try again.")), 400
    payment = donation.payment
    order = dict(payment_id=payment.id, reference=payment.reference,
                 amount_minor=payment.amount_minor, currency=payment.currency,
                 email=donation.email, name=donation.donor_name,
                 description=f"Gift to {donation.appeal.title} ({donation.public_id})")
    try:
        payments.claim_for_submission(db.session, payment.id)
    except payments.AlreadySubmitted:
        db.session.rollback()
        return _state_json(donation), 409
    # The claim commits before the gateway is called: a second submit racing
    # this one now finds the payment taken, and no lock is held during the call.
    db.session.commit()
    gateway = current_app.extensions["fundraiser.gateway"]
    try:
        result = payments.charge_card(db.session, gateway, token=token, **order)
    except GatewayError as exc:
        # Unknown outcome: the payment stays `processing` and reconcile finds it.
        db.session.rollback()
        return jsonify(status=states.PROCESSING, message=_(exc.user_message),
                       next=url_for("donations.thanks", public_id=public_id)), 502
    db.session.commit()
    extra = {}
    if result is not None and result.status == states.REQUIRES_ACTION:
        extra["client_secret"] = result.client_secret
    return _state_json(donation, **extra)


@bp.post("/give/<public_id>/confirm")
def confirm(public_id):
    """The browser says 3-D Secure is done; ask the gateway what is true."""
    donation = _donation_or_404(public_id)
    try:
        payments.refresh_from_gateway(db.session, current_app.extensions["fundraiser.gateway"],
                                      donation.payment_id)
        db.session.commit()
    except GatewayError:
        db.session.rollback()
    return _state_json(donation)


@bp.get("/give/<public_id>/status")
def status(public_id):
    donation = _donation_or_404(public_id)
    return _state_json(donation)


@bp.get("/give/<public_id>/thanks")
def thanks(public_id):
    donation = _donation_or_404(public_id)
    if donation.payment.status == states.CREATED:
        return redirect(url_for("donations.pay", public_id=public_id))
    return render_thanks(donation)


def render_thanks(donation, pledge_form=None):
    payment = donation.payment
    match = {"matched_minor": matching.net_for_payment(db.session, payment.id),
             "preview": "", "pledge": None, "funded_pledge": None, "form": None}
    funded = matching.pledge_funded_by(db.session, payment.id)
    if funded is not None:
        match["funded_pledge"] = funded
    elif payment.status in states.PENDING:
        match["preview"] = match_views.preview_message(
            donation.appeal_id, match_views.donation_preview(donation), donation.source or None)
    if match_views.can_pledge(donation):
        match["form"] = pledge_form or match_views.pledge_form(donation, formdata=None)
    match["has_matching"] = match_views.has_matching(donation.appeal_id, donation.source or None)
    return render_template("donations/thanks.html", donation=donation, appeal=donation.appeal,
                           text=appeals.text_for(db.session, donation.appeal,
                                                 str(get_locale())),
                           payment=payment, message=status_message(payment), match=match)


@bp.post("/give/<public_id>/retry")
def retry(public_id):
    donation = _donation_or_404(public_id)
    if donation.payment.status != states.FAILED or not donation.appeal.accepts_gifts():
        return redirect(url_for("donations.thanks", public_id=public_id), code=303)
    funded = matching.pledge_funded_by(db.session, donation.payment_id)
    origin = (services.by_payment_id(db.session, funded.origin_payment_id)
              if funded is not None and funded.origin_payment_id else None)
    if origin is not None:
        # A pledge's own payment failed (and withdrew it): the retry is a new
        # pledge on the same terms, so the pledger does not lose it.
        again, _pledge = services.start_pledge(db.session, origin, donation.amount,
                                               funded.pledger_name, locale=donation.locale)
    else:
        again = services.retry_donation(db.session, donation)
    db.session.commit()
    return redirect(url_for("donations.pay", public_id=again.public_id), code=303)


def status_message(payment) -> str:
    s = payment.status
    if s in states.COUNTED:
        return _("Your gift has been received. Thank you!")
    if s == states.FAILED:
        return payment.failure_message and _("Your payment did not go through: %(reason)s",
                                             reason=_(payment.failure_message)) \
            or _("Your payment did not go through.")
    if s == states.REQUIRES_ACTION:
        return _("Your bank asked you to confirm this payment. It is not complete yet.")
    if s in (states.PROCESSING, states.CREATED):
        return _("We are confirming your payment with the bank. This page updates itself.")
    if s == states.CANCELED:
        return _("This payment was cancelled. Nothing was charged.")
    return _("This gift has been refunded.")
