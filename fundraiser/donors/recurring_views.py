"""The portal's controls for a monthly or yearly gift: change the amount,
pause, resume, use another card (a SetupIntent confirmed by Stripe.js, as
on the gift's card page). Only the signed-in donor's own gifts: another's
public id is a 404, like one that does not exist. Every change is a POST
with the CSRF token, asks Stripe first, is written to the audit log, and
ends on the gifts page with a sentence saying what happened."""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, jsonify, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..appeals import services as appeals
from ..donations import subscriptions
from ..extensions import db
from ..payments.gateway import GatewayError
from . import recurring
from .forms import CancelMonthlyForm, recurring_amount_form
from .views import _donor, _gifts_page, _locale, _session_ended, bp

log = logging.getLogger(__name__)

# Where the card page keeps its SetupIntent between the page and the confirm.
CARD_SETUPS = "portal_card_setups"
UNREACHABLE = _l("We could not reach the payment service, so nothing has changed. "
                 "Please try again in a minute.")


def _own_or_404(public_id):
    """(donor's link, their gift); 404 for a gift that is not theirs."""
    link = _donor()
    if link is None:
        return None, None
    sub = subscriptions.by_public_id(db.session, public_id)
    if sub is None or sub.email != link.email or sub.gateway_id is None:
        abort(404)
    return link, sub


def _gateway():
    return current_app.extensions["fundraiser.gateway"]


def _back(sub):
    return redirect(url_for("donors.portal", _anchor=f"gift-{sub.public_id}"), code=303)


def _say(text: str, kind: str = "done"):
    flash(text, kind)


def _per(sub, amount_text: str) -> str:
    if sub.yearly:
        return _("Your yearly gift is now %(amount)s a year, from the next payment on.",
                 amount=amount_text)
    return _("Your monthly gift is now %(amount)s a month, from the next payment on.",
             amount=amount_text)


@bp.post("/monthly/<public_id>/amount")
def change_amount(public_id):
    link, sub = _own_or_404(public_id)
    if link is None:
        return _session_ended()
    form = recurring_amount_form(sub, _locale(), posted=True)
    if not form.validate_on_submit():
        return _gifts_page(link, amount_forms={sub.public_id: form}), 422
    db.session.rollback()  # no transaction open during the gateway call
    sub = subscriptions.by_public_id(db.session, public_id)
    try:
        done = recurring.change_amount(db.session, _gateway(), sub, form.money)
        db.session.commit()
    except GatewayError:
        db.session.rollback()
        _say(str(UNREACHABLE), "failed")
        return _back(sub)
    shown = form.money.format(_locale())
    if done == recurring.CHANGED:
        _say(_per(sub, shown))
    elif done == recurring.SAME:
        _say(_("Your gift is already %(amount)s. Nothing has changed.", amount=shown))
    else:
        _say(_("This gift is not running, so its amount cannot change."), "failed")
    return _back(sub)


@bp.post("/monthly/<public_id>/pause")
def pause(public_id):
    return _switch(public_id, recurring.pause)


@bp.post("/monthly/<public_id>/resume")
def resume(public_id):
    return _switch(public_id, recurring.resume)


def _switch(public_id, action):
    link, sub = _own_or_404(public_id)
    if link is None:
        return _session_ended()
    if not CancelMonthlyForm().validate_on_submit():
        abort(400)
    db.session.rollback()
    sub = subscriptions.by_public_id(db.session, public_id)
    try:
        done = action(db.session, _gateway(), sub)
        db.session.commit()
    except recurring.NotResumed as exc:
        db.session.rollback()
        _say(_("Your card was not accepted, so your gift is still paused. Please use "
               "another card, then resume.") + (" " + _(exc.user_message)
                                                if exc.user_message else ""), "failed")
        return _back(sub)
    except GatewayError:
        db.session.rollback()
        _say(str(UNREACHABLE), "failed")
        return _back(sub)
    _say(_message(sub, action, done), "done" if done != recurring.NOT_RUNNING else "failed")
    return _back(sub)


def _message(sub, action, done) -> str:
    if done == recurring.NOT_RUNNING:
        return _("This gift is not running, so it cannot be paused or resumed.")
    if action is recurring.pause:
        if done == recurring.SAME:
            return _("This gift is already paused.")
        return _("Your gift is paused. Nothing more will be charged until you resume it.")
    if done == recurring.SAME:
        return _("This gift is already running.")
    return _("Your gift is running again.")


# -- another card ---------------------------------------------------------------------

@bp.get("/monthly/<public_id>/card")
def card(public_id):
    link, sub = _own_or_404(public_id)
    if link is None:
        return _session_ended()
    if not recurring.changeable(sub):
        return _back(sub)
    db.session.rollback()
    try:
        setup = recurring.start_card_update(_gateway(), sub)
    except GatewayError:
        _say(str(UNREACHABLE), "failed")
        return _back(sub)
    setups = dict(session.get(CARD_SETUPS) or {})
    setups[sub.public_id] = {"id": setup.setup_id, "done": False}
    session[CARD_SETUPS] = dict(list(setups.items())[-5:])
    gateway = _gateway()
    return render_template(
        "donors/card.html", sub=sub, setup=setup, stripe_js_url=gateway.js_url,
        stripe_key=gateway.publishable_key,
        text=appeals.text_for(db.session, sub.appeal, _locale()))


@bp.post("/monthly/<public_id>/card")
def card_confirm(public_id):
    """The browser says Stripe saved the card; ask Stripe what is true."""
    link, sub = _own_or_404(public_id)
    if link is None:
        return jsonify(status="ended", message=_("Your session has ended. Please ask for a "
                                                 "new link.")), 403
    pending = (session.get(CARD_SETUPS) or {}).get(sub.public_id)
    if not isinstance(pending, dict) or not isinstance(pending.get("id"), str):
        return jsonify(status="unknown", message=_("Please open the card page again.")), 409
    done_url = url_for("donors.portal", _anchor=f"gift-{sub.public_id}")
    if pending.get("done"):
        return jsonify(status="saved", next=done_url)  # said already: nothing more
    db.session.rollback()
    try:
        setup = recurring.finish_card_update(db.session, _gateway(), sub, pending["id"])
        db.session.commit()
    except GatewayError:
        db.session.rollback()
        return jsonify(status="error", message=str(UNREACHABLE)), 502
    if setup.status != "succeeded":
        return jsonify(status=setup.status, message=_(
            "Your card was not saved. Please try again or use another card.")), 402
    setups = dict(session.get(CARD_SETUPS) or {})
    setups[sub.public_id] = {"id": pending["id"], "done": True}
    session[CARD_SETUPS] = setups
    _say(_("Your card ending %(last4)s will pay this gift from the next payment on.",
           last4=setup.card_last4) if setup.card_last4 else
         _("Your new card will pay this gift from the next payment on."))
    return jsonify(status="saved", next=done_url)
