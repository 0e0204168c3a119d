"""The gift flow: details form → card page → (3-D Secure) → thank-you page."""

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from ..appeals import services as appeals
from ..appeals.presenters import render_appeal
from ..extensions import db, limiter
from ..limits import current as current_limits
from ..matching import services as matching
from ..payments import services as payments
from ..payments import states
from ..payments.gateway import GatewayError
from ..referrals import carry
from . import (
    card_checks,
    match_presenters,
    receipt_numbers,
    receipt_pdf,
    services,
    subscriptions,
)
from .presenters import (
    donation_form,
    monthly_terms,
    recurring_interval,
    render_thanks,
    status_message,
)

log = logging.getLogger(__name__)

bp = Blueprint("donations", __name__)


def _donation_or_404(public_id):
    donation = services.by_public_id(db.session, public_id)
    if donation is None:
        abort(404)
    return donation


# One count for the gift form, whether its token was good (give) or not
# (refused_token, which the CSRF check calls before give's own would run).
_gift_form_limit = limiter.shared_limit(
    lambda: current_app.config.get("GIVE_RATE_LIMIT", "30 per minute"), scope="gift-form")


@bp.post("/appeals/<slug>/give")
@_gift_form_limit
def give(slug):
    appeal = appeals.get_public(db.session, slug)
    if appeal is None:
        abort(404)
    form = donation_form(appeal)
    if not appeal.accepts_gifts():
        form.form_errors.append(_("This appeal is no longer taking gifts. Thank you for caring."))
    elif card_checks.paused(appeal.id):
        form.form_errors.append(card_checks.paused_message())
        return render_appeal(appeal, form), 503
    elif not form.validate_on_submit():
        pass
    elif form.caught_by_honeypot():
        # A person never sees the field; a bot filled it. Refused without a
        # word about why, nothing stored, nothing sent to the processor.
        card_checks.record(declined=True, what="honeypot")
        db.session.commit()
        form.form_errors.append(_("We could not start this gift. Please try again."))
    else:
        verdict = card_checks.attempt(form.email.data, what="gift form")
        if not verdict.ok:
            form.form_errors.append(card_checks.message(verdict))
            response = make_response(render_appeal(appeal, form), 429)
            response.headers["Retry-After"] = str(verdict.retry_after)
            return response
        try:
            donation = services.start_donation(
                db.session, appeal, amount=form.money, name=form.name.data,
                email=form.email.data, display_name=form.display_name.data or "",
                anonymous=form.anonymous.data, comment=form.comment.data or "",
                consent=form.consent.data, locale=str(get_locale()),
                source=form.source.data or "", limits=current_limits(),
                referral_link_id=carry.carried_link_id(appeal.id),
            )
        except services.CurrencyRefused:  # its rate went away since the form was checked
            db.session.rollback()
            form.currency.errors = [_("Gifts in %(currency)s cannot be taken just now: we "
                                      "have no exchange rate for it. Please choose another "
                                      "currency.", currency=form.money.currency)]
            return render_appeal(appeal, form), 422
        if form.interval:
            subscriptions.start(db.session, donation, form.interval)
        db.session.commit()
        return redirect(url_for("donations.pay", public_id=donation.public_id), code=303)
    return render_appeal(appeal, form), 422


@_gift_form_limit
def refused_token(slug):
    """The gift form came without a valid CSRF token: sent from the shared
    appeal page by a browser without script (the page carries none), or
    after the session ended. Nothing is started; the page comes back with
    the donor's values and a token of their own, so pressing again goes
    through. (Called by the app's CSRFError handler; it shows a page, so it
    counts against the gift form's rate limit like a good send.)"""
    appeal = appeals.get_public(db.session, slug)
    if appeal is None:
        abort(404)
    form = donation_form(appeal)
    form.csrf_token.errors = [_("Your gift has not started yet: please press “Continue to "
                                "payment” once more.")]
    return render_appeal(appeal, form), 400


@bp.get("/give/<public_id>")
def pay(public_id):
    donation = _donation_or_404(public_id)
    if donation.payment.status != states.CREATED:
        return redirect(url_for("donations.thanks", public_id=public_id))
    gateway = current_app.extensions["fundraiser.gateway"]
    if card_checks.paused(donation.appeal_id):
        return render_template("donations/pay.html", donation=donation, appeal=donation.appeal,
                               text=appeals.text_for(db.session, donation.appeal,
                                                     str(get_locale())),
                               paused=card_checks.paused_message()), 503
    funded = matching.pledge_funded_by(db.session, donation.payment_id)
    match_note = "" if funded else match_presenters.preview_message(
        donation.appeal_id, match_presenters.donation_preview(donation), donation.source or None)
    return render_template("donations/pay.html", donation=donation, appeal=donation.appeal,
                           text=appeals.text_for(db.session, donation.appeal,
                                                 str(get_locale())),
                           stripe_js_url=gateway.js_url,
                           stripe_key=gateway.publishable_key, match_note=match_note,
                           funded_pledge=funded, monthly=monthly_terms(donation),
                           yearly=recurring_interval(donation) == "year")


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
    if card_checks.paused(donation.appeal_id):
        return card_checks.paused_json()
    gateway = current_app.extensions["fundraiser.gateway"]
    verdict = card_checks.check(donation.email)  # before asking the processor anything
    card = None
    if verdict.ok and card_checks.enabled() and donation.payment.status == states.CREATED:
        try:
            card = gateway.card_fingerprint(token)
        except GatewayError:
            card = None  # the charge below meets the same outage and says so
        verdict = card_checks.attempt(donation.email, card, what="card")
    if not verdict.ok:
        return card_checks.refused_json(verdict)
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
    try:
        if donation.subscription_id is not None:
            result = subscriptions.charge_first(
                db.session, gateway, token=token, subscription_id=donation.subscription_id,
                interval=subscriptions.interval_of(db.session, donation.subscription_id),
                **order)
        else:
            result = payments.charge_card(db.session, gateway, token=token, **order)
    except GatewayError as exc:
        # Unknown outcome: the payment stays `processing` and reconcile finds it.
        db.session.rollback()
        return jsonify(status=states.PROCESSING, message=_(exc.user_message),
                       next=url_for("donations.thanks", public_id=public_id)), 502
    card_checks.note_charge(donation.appeal_id, donation.email, card,
                            declined=result is None or result.status == states.FAILED)
    try:
        db.session.commit()
    except SQLAlchemyError:
        # Stripe has answered but our database did not keep it: the payment
        # stays `processing` (its claim was committed) and the webhook, or
        # reconcile finding the intent by its reference, records it later.
        db.session.rollback()
        log.exception("payment %s: the gateway's answer was not committed", payment.id)
        return jsonify(status=states.PROCESSING,
                       message=_("We are confirming your payment with the bank. "
                                 "This page updates itself."),
                       next=url_for("donations.thanks", public_id=public_id)), 503
    extra = {}
    if result is not None and result.status == states.REQUIRES_ACTION:
        extra["client_secret"] = result.client_secret
    return _state_json(donation, **extra)


@bp.post("/give/<public_id>/confirm")
def confirm(public_id):
    """The browser says 3-D Secure is done; ask the gateway what is true."""
    donation = _donation_or_404(public_id)
    verdict = card_checks.attempt(donation.email, what="3-D Secure confirmation")
    if not verdict.ok:
        return card_checks.refused_json(verdict)
    db.session.commit()
    try:
        outcome = payments.refresh_from_gateway(
            db.session, current_app.extensions["fundraiser.gateway"], donation.payment_id)
        db.session.refresh(donation.payment)
        if outcome == "applied" and donation.payment.status == states.FAILED:
            card_checks.note_decline(donation.appeal_id, donation.email)
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
    page = render_thanks(donation, make_link=True)
    db.session.commit()  # the donor's share link, made on the first view
    return page


@bp.get("/give/<public_id>/receipt.pdf")
@limiter.limit(lambda: current_app.config.get("RECEIPT_RATE_LIMIT", "30 per minute"))
def receipt_download(public_id):
    """The gift's PDF receipt, reached like the thank-you page by the gift's
    unguessable public id; a gift that never succeeded has none (404)."""
    donation = _donation_or_404(public_id)
    if donation.payment.status not in receipt_pdf.RECEIPTED:
        abort(404)
    if donation.receipt_number is None:  # a gift from before receipt numbers
        receipt_numbers.assign(db.session, donation.id)
        db.session.commit()
    org = receipt_pdf.Organisation.from_config(current_app.config)
    facts = receipt_pdf.receipt_facts(db.session, donation)
    response = make_response(receipt_pdf.render_receipt(facts, org))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = \
        f'inline; filename="{receipt_pdf.filename(facts, org)}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.post("/give/<public_id>/retry")
def retry(public_id):
    donation = _donation_or_404(public_id)
    if donation.payment.status != states.FAILED or not donation.appeal.accepts_gifts():
        return redirect(url_for("donations.thanks", public_id=public_id), code=303)
    if card_checks.paused(donation.appeal_id):
        return card_checks.paused_page()
    verdict = card_checks.attempt(donation.email, what="retry")
    if not verdict.ok:
        db.session.commit()
        return card_checks.refused_page(verdict)
    funded = matching.pledge_funded_by(db.session, donation.payment_id)
    origin = (services.by_payment_id(db.session, funded.origin_payment_id)
              if funded is not None and funded.origin_payment_id else None)
    if origin is not None:
        # A pledge's own payment failed (and withdrew it): the retry is a new
        # pledge on the same terms, so the pledger does not lose it.
        again, _pledge = services.start_pledge(db.session, origin, donation.amount,
                                               funded.pledger_name, locale=donation.locale)
    else:
        try:
            again = services.retry_donation(db.session, donation)
        except services.CurrencyRefused:  # its currency can no longer be taken: choose again
            db.session.rollback()
            return redirect(url_for("appeals.show", slug=donation.appeal.slug) + "#give",
                            code=303)
        if donation.subscription_id is not None:
            # A monthly (yearly) gift whose first instalment failed stays so on retry.
            first = db.session.get(subscriptions.Subscription, donation.subscription_id)
            subscriptions.start(db.session, again, first.interval if first else "month")
    db.session.commit()
    return redirect(url_for("donations.pay", public_id=again.public_id), code=303)


