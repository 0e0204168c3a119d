"""The donor portal: ask for a link by email, open it, see your gifts, set
your contact preference, erase your data, sign out.

The answer to "send me a link" is the same page whether or not the address
has given (a mail goes out either way: the link, or a note that we hold no
gifts under it), so the page tells no one who our donors are. Requests are
limited per client address and per email (limits.py)."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    get_flashed_messages,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from ..appeals import services as appeals
from ..donations import subscriptions
from ..extensions import db
from ..jobs import enqueue, send_email
from ..payments import states
from ..payments.gateway import GatewayError
from ..payments.models import utcnow
from ..urls import public_url
from . import limits, services
from .forms import (
    CancelMonthlyForm,
    EraseForm,
    LinkRequestForm,
    OpenLinkForm,
    PreferencesForm,
    SignOutForm,
    recurring_amount_form,
)

log = logging.getLogger(__name__)

bp = Blueprint("donors", __name__, url_prefix="/my-gifts")

SESSION_KEY = "donor_portal"


@bp.after_request
def _private(response):
    # A donor's own gifts and a link's token: kept out of shared caches, the
    # back-forward cache of a shared computer, and other sites' Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.app_template_filter("portal_date")
def _portal_date(value):
    return format_date(value, "medium")


def _now():
    # A callable in the config lets the tests travel in time.
    return (current_app.config.get("DONOR_PORTAL_CLOCK") or utcnow)()


def _locale() -> str:
    return str(get_locale() or "en")


def _donor():
    return services.current_session(db.session, session.get(SESSION_KEY), _now())


def status_label(status: str) -> str:
    return {
        states.CREATED: _("Not completed"), states.PROCESSING: _("Processing"),
        states.REQUIRES_ACTION: _("Waiting for your bank"), states.SUCCEEDED: _("Received"),
        states.FAILED: _("Did not go through"), states.CANCELED: _("Cancelled"),
        states.PARTIALLY_REFUNDED: _("Partly refunded"), states.REFUNDED: _("Refunded"),
        states.DISPUTED: _("Disputed with your bank"),
        states.DISPUTE_LOST: _("Returned by your bank"),
    }.get(status, status)


def request_page(form: LinkRequestForm, status: int = 200, problem: str | None = None):
    return render_template("donors/request.html", form=form, problem=problem), status


def _refused(_limit=None):
    """Flask-Limiter's on_breach: the form again (what was typed kept), 429,
    the same words whichever limit was met (per address or per email)."""
    body, status = request_page(LinkRequestForm(), 429, problem="limited")
    return make_response(body, status)


# -- asking for a link ------------------------------------------------------------

@bp.get("")
def portal():
    link = _donor()
    if link is None:
        session.pop(SESSION_KEY, None)
        return request_page(LinkRequestForm())
    return _gifts_page(link)


@bp.post("")
@limits.guarded(on_breach=_refused)
def request_link():
    form = LinkRequestForm()
    if not form.validate_on_submit():
        return request_page(form, 422)
    email = services.normalise_email(form.email.data)
    locale = _locale()
    # The same work either way (a lookup, a clean-up, a mail job); only the
    # mail differs, and a known address has one row more written.
    services.forget_old_links(db.session, email, _now())
    if services.is_known(db.session, email):
        token = services.issue_link(db.session, email, _now())
        url = public_url("donors.open_link", token=token, lang=locale)
        body = render_template("donors/link_mail.txt", url=url,
                               minutes=int(services.LINK_VALID_FOR.total_seconds() // 60))
        subject = _("Your link to your gifts")
        what = "donor portal link"
    else:
        body = render_template("donors/no_gifts_mail.txt",
                               url=public_url("donors.portal", lang=locale))
        subject = _("About your request for your gifts")
        what = "donor portal: no gifts under this address"
    enqueue(send_email, subject, body, [email], what)
    db.session.commit()
    return render_template("donors/sent.html", email=email)


# -- opening it ------------------------------------------------------------------

def _link_refused(state: str):
    form = LinkRequestForm(formdata=None)
    return request_page(form, 404 if state == services.UNKNOWN else 410, problem=state)


@bp.get("/link/<token>")
def open_link(token):
    state = services.link_state(db.session, token, _now())
    if state != services.VALID:
        return _link_refused(state)
    return render_template("donors/open.html", form=OpenLinkForm(), token=token)


@bp.post("/link/<token>")
def use_link(token):
    form = OpenLinkForm()
    if not form.validate_on_submit():  # only the CSRF token can be wrong
        return render_template("donors/open.html", form=form, token=token), 400
    opened = services.open_link(db.session, token, _now())
    if opened is None:
        db.session.rollback()
        return _link_refused(services.link_state(db.session, token, _now()))
    db.session.commit()
    session[SESSION_KEY] = opened[1]
    response = redirect(url_for("donors.portal"), code=303)
    # The link carried the language it was asked in: keep reading in it.
    response.set_cookie("lang", _locale(), max_age=365 * 86400, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response


# -- inside ------------------------------------------------------------------------

def _gifts_page(link, amount_forms=None):
    gifts = services.gifts_for(db.session, link.email)
    monthly = subscriptions.for_email(db.session, link.email)
    # One amount field per running gift; a refused one keeps what was typed.
    amounts = {m.public_id: (amount_forms or {}).get(m.public_id)
               or recurring_amount_form(m, _locale()) for m in monthly}
    texts = appeals.texts_for(db.session, list({g.appeal_id: g.appeal
                                                for g in [*gifts, *monthly]}.values()),
                              _locale())
    prefs = PreferencesForm(formdata=None,
                            wants_updates=services.wants_updates(db.session, link.email))
    return render_template(
        "donors/gifts.html", email=link.email, gifts=gifts, texts=texts,
        status_label=status_label, prefs=prefs, signout=SignOutForm(),
        saved=request.args.get("saved") == "1", ends_at=link.session_ends_at,
        monthly=monthly, monthly_label=subscriptions.status_label, cancel_form=CancelMonthlyForm(),
        canceled=request.args.get("canceled") == "1",
        cancel_failed=request.args.get("cancel_failed") == "1",
        amount_forms=amounts, notices=get_flashed_messages(with_categories=True),
    )


@bp.post("/monthly/<public_id>/cancel")
def cancel_monthly(public_id):
    """Stop a monthly gift: at Stripe first, then here."""
    link = _donor()
    if link is None:
        return _session_ended()
    sub = subscriptions.by_public_id(db.session, public_id)
    if sub is None or sub.email != link.email:
        abort(404)  # another donor's gift is as unknown as one that does not exist
    if not CancelMonthlyForm().validate_on_submit():
        return redirect(url_for("donors.portal"), code=303)
    try:
        if subscriptions.cancel(db.session, current_app.extensions["fundraiser.gateway"], sub):
            services.audit_recurring(db.session, sub, "cancel", interval=sub.interval)
        db.session.commit()
    except GatewayError:
        db.session.rollback()
        log.warning("subscription %s: cancel failed at the gateway", sub.id)
        return redirect(url_for("donors.portal", cancel_failed=1), code=303)
    log.info("subscription %s canceled by the donor", sub.id)
    return redirect(url_for("donors.portal", canceled=1), code=303)


def _session_ended():
    session.pop(SESSION_KEY, None)
    form = LinkRequestForm(formdata=None)
    return request_page(form, 403, problem="ended")


@bp.post("/preferences")
def preferences():
    link = _donor()
    if link is None:
        return _session_ended()
    form = PreferencesForm()
    if form.validate_on_submit():
        services.set_wants_updates(db.session, link.email, form.wants_updates.data)
        db.session.commit()
        return redirect(url_for("donors.portal", saved=1), code=303)
    return redirect(url_for("donors.portal"), code=303)


@bp.route("/erase", methods=["GET", "POST"])
def erase():
    link = _donor()
    if link is None:
        return _session_ended()
    form = EraseForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("donors/erase.html", form=form, email=link.email), status
    done = services.erase(db.session, link.email, _now())
    db.session.commit()
    log.info("donor erased their data: %s gifts, %s pledges", done.donations, done.pledges)
    session.pop(SESSION_KEY, None)
    return render_template("donors/erased.html", done=done)


@bp.post("/sign-out")
def sign_out():
    link = _donor()
    if link is not None and SignOutForm().validate_on_submit():
        services.end_session(db.session, link)
        db.session.commit()
    session.pop(SESSION_KEY, None)
    return redirect(url_for("donors.portal"), code=303)
