"""A saved-card pledge's closing charge that the pledger's bank wants
confirmed (3-D Secure, `requires_action` off-session): the pledger is mailed
once, in their language, a link to a page that shows what will be charged
and why, and completes the authentication of the existing PaymentIntent
with Stripe.js. The charge counts when the intent succeeds, reported by the
`payment_intent.succeeded` webhook or by the page's return, whichever comes
first (the payment's state table makes the second a repeat)."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, jsonify, make_response, render_template
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from ..appeals import services as appeals
from ..appeals.models import Appeal
from ..extensions import db, limiter
from ..jobs import enqueue, send_email
from ..matching import card_pledges
from ..matching.models import MatchPledge
from ..payments import services as payments
from ..payments import states
from ..payments.gateway import CardDeclined, GatewayError
from ..payments.models import Payment
from ..urls import public_url
from .models import is_erased_email
from .receipts import pledge_charge_facts

log = logging.getLogger(__name__)

bp = Blueprint("pledge_auth", __name__)


def ask_pledger(session, pledge_id: int) -> bool:
    """Mark the pledge's closing charge as waiting for the pledger and mail
    them the link, once, however often this is called. True when asked now."""
    token = card_pledges.request_authentication(session, pledge_id)
    if token is None:
        return False  # asked already, or nothing waits
    _mail_link(session, session.get(MatchPledge, pledge_id), token)
    return True


def send_link_again(session, pledge_id: int) -> bool:
    """Staff send a waiting pledger a new link (the first one was lost); the
    old link stops working. False when the charge no longer waits."""
    token = card_pledges.renew_authentication(session, pledge_id)
    if token is None:
        return False
    _mail_link(session, session.get(MatchPledge, pledge_id), token, again=True)
    return True


def remind_pledger(session, pledge_id: int) -> bool:
    """The one reminder, with a new link (the old one stops working). False
    when reminded already or the charge no longer waits."""
    token = card_pledges.remind_authentication(session, pledge_id)
    if token is None:
        return False
    _mail_link(session, session.get(MatchPledge, pledge_id), token, again=True, reminder=True)
    return True


def tell_lapsed(session, pledge_id: int) -> None:
    """Tell the pledger that their pledge lapsed: the charge waited too long
    for their bank and was given up; nothing was charged. Called once, by
    whoever lapsed it."""
    pledge = session.get(MatchPledge, pledge_id)
    if is_erased_email(pledge.pledger_email):
        return
    facts = pledge_charge_facts(session, pledge)
    with force_locale(facts.locale):
        body = render_template(
            "donations/pledge_lapsed_mail.txt", name=pledge.pledger_name, title=facts.title,
            amount=facts.amount, days=current_app.config.get("PLEDGE_LAPSE_AFTER_DAYS", 14))
        subject = _("Your matching pledge to %(title)s has lapsed; nothing was charged",
                    title=facts.title)
    enqueue(send_email, str(subject), body, [pledge.pledger_email],
            f"pledge {pledge.id}: lapsed")


def _mail_link(session, pledge: MatchPledge, token: str, again: bool = False,
               reminder: bool = False) -> None:
    if is_erased_email(pledge.pledger_email):
        log.info("pledge %s: charge waits for authentication; the pledger erased "
                 "their address", pledge.id)
        return
    facts = pledge_charge_facts(session, pledge)
    with force_locale(facts.locale):
        body = render_template(
            "donations/pledge_auth_mail.txt", name=pledge.pledger_name, title=facts.title,
            amount=facts.amount, pledged=facts.pledged,
            url=public_url("pledge_auth.show", token=token, lang=facts.locale))
        subject = (_("A reminder: please confirm your matching pledge to %(title)s: %(amount)s",
                     title=facts.title, amount=facts.amount) if reminder else
                   _("Please confirm your matching pledge to %(title)s: %(amount)s",
                     title=facts.title, amount=facts.amount))
    enqueue(send_email, str(subject), body, [pledge.pledger_email],
            f"pledge {pledge.id}: charge needs authentication" + (" (again)" if again else ""))


# -- the pledger's page ----------------------------------------------------------

def _pledge_or_404(token):
    pledge = card_pledges.pledge_for_token(db.session, token)
    if pledge is None or pledge.charge_payment_id is None:
        abort(404)
    return pledge


def _private(response):
    # The address holds the pledger's token: never cached, never sent on.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/pledge-charge/<token>")
def show(token):
    pledge = _pledge_or_404(token)
    if not card_pledges.waits_for_pledger(db.session, pledge.id):
        abort(404)  # charged already: the link is used up
    gateway = current_app.extensions["fundraiser.gateway"]
    appeal = db.session.get(Appeal, pledge.appeal_id)
    charge = db.session.get(Payment, pledge.charge_payment_id)
    return _private(make_response(render_template(
        "donations/pledge_auth.html", pledge=pledge, appeal=appeal, charge=charge,
        token=token, locale=str(get_locale()),
        # the answers to the page's calls come in its language too
        text=appeals.text_for(db.session, appeal, str(get_locale())),
        stripe_js_url=gateway.js_url, stripe_key=gateway.publishable_key)))


def _charged():
    return _private(jsonify(status="succeeded", message=_(
        "Thank you. Your card was charged; your receipt is on its way by email.")))


def _not_confirmed(message=None):
    return _private(jsonify(status="failed", message=message or _(
        "Your bank did not confirm the payment, so nothing was charged. "
        "You can try again.")))


@bp.post("/pledge-charge/<token>/start")
# Each try calls the payment service (and, after a failure, confirms anew).
@limiter.limit(lambda: current_app.config.get("CHARGE_RATE_LIMIT", "10 per minute"))
def start(token):
    """Make the charge ready for the pledger's bank; the page then hands the
    client secret to Stripe.js."""
    pledge = _pledge_or_404(token)
    if not card_pledges.waits_for_pledger(db.session, pledge.id):
        return _charged()
    intent_id = db.session.get(Payment, pledge.charge_payment_id).intent_id
    payment_method_id = pledge.payment_method_id
    db.session.rollback()  # no transaction open during the gateway call
    try:
        result = current_app.extensions["fundraiser.gateway"].resume_authentication(
            intent_id=intent_id, payment_method_id=payment_method_id)
    except CardDeclined as exc:
        return _not_confirmed(_(exc.user_message))
    except GatewayError as exc:
        return _private(jsonify(status="error", message=_(exc.user_message))), 502
    if result.status == states.SUCCEEDED:
        return finish(token)
    if result.status != states.REQUIRES_ACTION or not result.client_secret:
        return _not_confirmed()
    return _private(jsonify(status="requires_action", client_secret=result.client_secret))


@bp.post("/pledge-charge/<token>/finish")
def finish(token):
    """The browser says the bank answered; ask the gateway what is true. A
    success is applied here unless the webhook came first; anything else
    leaves the charge waiting."""
    pledge = _pledge_or_404(token)
    payment = db.session.get(Payment, pledge.charge_payment_id)
    payment_id, intent_id = payment.id, payment.intent_id
    expected = (payment.amount_minor, payment.currency)
    if not card_pledges.waits_for_pledger(db.session, pledge.id):
        return _charged()
    db.session.rollback()
    try:
        result = current_app.extensions["fundraiser.gateway"].retrieve(intent_id)
    except GatewayError as exc:
        return _private(jsonify(status="error", message=_(exc.user_message))), 502
    if result.status != states.SUCCEEDED:
        return _not_confirmed()
    if (result.intent_id, result.amount_minor, result.currency) != (intent_id, *expected):
        log.error("payment %s: intent %s answered %s %s", payment_id, intent_id,
                  result.amount_minor, result.currency)
        return _private(jsonify(status="error", message=_(GatewayError.user_message))), 502
    with payments.caused_by("pledger authenticated"):
        try:
            payments.transition_to(db.session, payment_id, states.SUCCEEDED)
        except states.IllegalTransition:
            pass  # refunded or disputed since: it went through all the same
    db.session.commit()
    return _charged()
