"""Sign-on pages: the form (`/appeals/<slug>/sign`), the "check your inbox"
answer, and the emailed link that confirms a signature.

The link opens a page with a button; the POST confirms. Mail scanners that
follow links would otherwise confirm (and use up) it before the signer saw
it (the donor portal's links work the same way). Signing is limited per
client address and per email (SIGN_LIMIT_*). A link works for
SIGN_LINK_VALID_DAYS; an expired one opens a page that sends a new link to
the same address."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from ..extensions import db, limiter
from ..jobs import enqueue, send_email
from ..payments.models import utcnow
from ..referrals import carry
from ..referrals import services as referrals
from ..referrals.share import share_box
from ..urls import public_url
from . import link_forms, referral_stats, services, signatures
from .forms import SignForm
from .models import Appeal
from .presenters import signature_figures

bp = Blueprint("signatures", __name__)


bp.after_request(link_forms.private)
_by_address = link_forms.address_key("sign")
_by_email = link_forms.email_key("sign", signatures.normalise_email)
_limit = link_forms.configured
_signable = link_forms.signable
_valid_for = link_forms.valid_for


def _page(appeal, form, status=200, limited=False):
    locale = str(get_locale())
    return render_template("appeals/sign.html", appeal=appeal, form=form, limited=limited,
                           text=services.text_for(db.session, appeal, locale),
                           signatures=signature_figures(appeal),
                           closed=appeal.status != "published"), status


def _refused(_limit=None):
    appeal = _signable(request.view_args.get("slug"))
    body, status = _page(appeal, SignForm(), 429, limited=True)
    return current_app.make_response((body, status))


@bp.get("/appeals/<slug>/sign")
def form(slug):
    appeal = _signable(slug)
    return _page(appeal, SignForm(formdata=None))


@bp.post("/appeals/<slug>/sign")
@limiter.limit(_limit("SIGN_LIMIT_EMAIL"), key_func=_by_email, on_breach=_refused)
@limiter.limit(_limit("SIGN_LIMIT_ADDRESS"), key_func=_by_address, on_breach=_refused)
def sign(slug):
    appeal = _signable(slug)
    form = SignForm()
    if appeal.status != "published":
        abort(404)
    if not form.validate_on_submit():
        return _page(appeal, form, 422)
    locale = str(get_locale())
    signed = signatures.sign(
        db.session, appeal, name=form.name.data, email=form.email.data,
        country=form.country.data or "", comment=form.comment.data or "",
        consent=form.consent.data, locale=locale,
        referral_link_id=carry.carried_link_id(appeal.id))
    if signed.token is not None:
        _send_link(appeal, form.name.data, signatures.normalise_email(form.email.data),
                   signed, locale)
    db.session.commit()
    return redirect(url_for("signatures.sent", slug=slug, lang=locale), 303)


@bp.get("/appeals/<slug>/sign/sent")
def sent(slug):
    appeal = _signable(slug)
    text = services.text_for(db.session, appeal, str(get_locale()))
    return render_template("appeals/sign_done.html", appeal=appeal, text=text, step="sent",
                           signatures=signature_figures(appeal))


def _send_link(appeal, name, email, signed, locale):
    title = services.text_for(db.session, appeal, locale).title
    body = render_template(
        "appeals/sign_mail.txt", name=name, title=title,
        days=current_app.config["SIGN_LINK_VALID_DAYS"],
        url=public_url("signatures.confirm_page", token=signed.token, lang=locale))
    subject = _("Please confirm your signature: %(title)s", title=title)
    enqueue(send_email, subject, body, [email],
            f"signature confirmation, signature {signed.signature_id}")


@bp.get("/sign/confirm/<token>")
def confirm_page(token):
    signature = signatures.pending(db.session, token)
    if signature is None:
        return render_template("appeals/sign_done.html", appeal=None, step="unknown"), 404
    appeal = db.session.get(Appeal, signature.appeal_id)
    text = services.text_for(db.session, appeal, str(get_locale()))
    if signatures.expired(signature, utcnow(), _valid_for()):
        return render_template("appeals/sign_done.html", appeal=appeal, text=text,
                               step="expired", signature=signature, form=FlaskForm()), 410
    return render_template("appeals/sign_done.html", appeal=appeal, text=text, step="confirm",
                           signature=signature, form=FlaskForm())


@bp.post("/sign/confirm/<token>")
def confirm(token):
    # CSRFProtect has checked the form's token before this runs.
    signature = signatures.confirm(db.session, token, valid_for=_valid_for())
    if signature is None:
        return confirm_page(token)  # expired, used or unknown: that page says which
    link = referrals.person_link(db.session, signature.appeal_id, signature.email,
                                 signature_id=signature.id)
    db.session.commit()
    appeal = db.session.get(Appeal, signature.appeal_id)
    current_app.extensions["fundraiser.public_cache"].bump_appeals([appeal.slug])
    locale = str(get_locale())
    text = services.text_for(db.session, appeal, locale)
    # The ladder: a gift (unless this person gave already), then sharing.
    ask_gift = appeal.accepts_gifts() and not referral_stats.has_given(
        db.session, appeal.id, signature.email)
    return render_template("appeals/sign_done.html", appeal=appeal, text=text, step="thanks",
                           signature=signature, signatures=signature_figures(appeal),
                           ask_gift=ask_gift, share=share_box(link.code, text.title, locale))


@bp.post("/sign/renew/<token>")
@limiter.limit(_limit("SIGN_LIMIT_ADDRESS"), key_func=_by_address)
def renew(token):
    """A new link for an expired one, sent to the address that signed."""
    signed = signatures.renew(db.session, token)
    if signed is None:
        return render_template("appeals/sign_done.html", appeal=None, step="unknown"), 404
    signature = db.session.get(signatures.Signature, signed.signature_id)
    appeal = db.session.get(Appeal, signature.appeal_id)
    locale = str(get_locale())
    _send_link(appeal, signature.name, signature.email, signed, locale)
    db.session.commit()
    return redirect(url_for("signatures.sent", slug=appeal.slug, lang=locale), 303)
