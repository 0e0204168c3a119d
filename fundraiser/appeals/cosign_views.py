"""Organisations ask to co-sign a sign-on appeal (`/appeals/<slug>/cosign`):
the form (with an optional logo), the "check your inbox" answer, and the
emailed link that confirms the request for staff to review. Nothing here is
shown on the appeal: staff approval makes the co-signer (staff/cosign_queue.py).

Like signing, the link opens a page with a button and the POST confirms (mail
scanners follow links), it expires after SIGN_LINK_VALID_DAYS (the page then
offers a new one, sent to the same address), and asking is limited per
client address and per email (COSIGN_LIMIT_*)."""

from __future__ import annotations

from io import BytesIO

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
from ..media import services as media
from ..payments.models import utcnow
from ..urls import public_url
from . import cosign, link_forms, services
from .forms import CosignForm
from .models import Appeal

bp = Blueprint("cosign", __name__)
LOGO_MAX_BYTES = 1024 * 1024


bp.after_request(link_forms.private)
_by_address = link_forms.address_key("cosign")
_by_email = link_forms.email_key("cosign", cosign.normalise_email)
_limit = link_forms.configured
_signable = link_forms.signable
_valid_for = link_forms.valid_for


def _page(appeal, form, status=200, limited=False):
    return render_template("appeals/cosign.html", appeal=appeal, form=form, limited=limited,
                           text=services.text_for(db.session, appeal, str(get_locale())),
                           closed=appeal.status != "published"), status


def _refused(_limit=None):
    appeal = _signable(request.view_args.get("slug"))
    body, status = _page(appeal, CosignForm(formdata=None), 429, limited=True)
    return current_app.make_response((body, status))


def _messages():
    return {
        "too large": _("The logo is larger than 1 MB. Please choose a smaller file."),
        "not an image": _("That file is not a PNG, JPEG or WebP image."),
        "too many pixels": _("The logo has too many pixels. Please make it smaller "
                             "(at most a few thousand pixels a side) and upload it again."),
        "control characters": _("Remove the invisible control characters from the text."),
        "too long": _("Shorten the text: names up to 200 characters, countries up to 80, "
                      "web addresses up to 500."),
        "bad web address": _("Give the web address in full, starting with https:// "
                             "(for example https://example.org)."),
    }


def _logo(form):
    """The uploaded logo, checked and re-encoded (media.store_upload); None
    when none was sent. A bad file puts the reason beside the field."""
    upload = form.logo.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    data = upload.stream.read(LOGO_MAX_BYTES + 1)
    try:
        if len(data) > LOGO_MAX_BYTES:
            raise media.UploadError("too large")
        return media.store_upload(db.session, BytesIO(data), media.LOGO)
    except media.UploadError as exc:
        form.logo.errors.append(_messages().get(str(exc), _messages()["not an image"]))
        raise


def _send_link(row, token, title, locale):
    body = render_template("appeals/cosign_mail.txt", name=row.name, title=title,
                           days=current_app.config["SIGN_LINK_VALID_DAYS"],
                           url=public_url("cosign.confirm_page", token=token, lang=locale))
    subject = _("Please confirm your organisation's request: %(title)s", title=title)
    enqueue(send_email, subject, body, [row.email], f"co-sign confirmation, request {row.id}")


@bp.get("/appeals/<slug>/cosign")
def form(slug):
    return _page(_signable(slug), CosignForm(formdata=None))


@bp.post("/appeals/<slug>/cosign")
@limiter.limit(_limit("COSIGN_LIMIT_EMAIL"), key_func=_by_email, on_breach=_refused)
@limiter.limit(_limit("COSIGN_LIMIT_ADDRESS"), key_func=_by_address, on_breach=_refused)
def ask(slug):
    appeal = _signable(slug)
    if appeal.status != "published":
        abort(404)
    form = CosignForm()
    if not form.validate_on_submit():
        return _page(appeal, form, 422)
    locale = str(get_locale())
    try:
        # A request already confirmed or decided is left alone: no logo is kept for it.
        logo = (_logo(form) if cosign.takes_changes(db.session, appeal.id, form.email.data,
                                                    form.name.data) else None)
        asked = cosign.ask(db.session, appeal, name=form.name.data, country=form.country.data,
                           url=form.url.data, email=form.email.data, logo=logo,
                           consent=form.consent.data, locale=locale)
    except media.UploadError:
        db.session.rollback()
        return _page(appeal, form, 422)
    except cosign.CosignError as exc:
        db.session.rollback()
        form.form_errors.append(_messages().get(
            str(exc), _("The request could not be saved. Please check the values.")))
        return _page(appeal, form, 422)
    if asked.token is not None:
        row = db.session.get(cosign.CosignRequest, asked.request_id)
        _send_link(row, asked.token, services.text_for(db.session, appeal, locale).title,
                   locale)
    db.session.commit()
    return redirect(url_for("cosign.sent", slug=slug, lang=locale), 303)


@bp.get("/appeals/<slug>/cosign/sent")
def sent(slug):
    appeal = _signable(slug)
    text = services.text_for(db.session, appeal, str(get_locale()))
    return render_template("appeals/cosign_done.html", appeal=appeal, text=text, step="sent")


def _unknown():
    return render_template("appeals/cosign_done.html", appeal=None, step="unknown"), 404


@bp.get("/cosign/confirm/<token>")
def confirm_page(token):
    row = cosign.pending(db.session, token)
    if row is None:
        return _unknown()
    appeal = db.session.get(Appeal, row.appeal_id)
    text = services.text_for(db.session, appeal, str(get_locale()))
    step = "expired" if cosign.expired(row, utcnow(), _valid_for()) else "confirm"
    return render_template("appeals/cosign_done.html", appeal=appeal, text=text, step=step,
                           row=row, form=FlaskForm()), 410 if step == "expired" else 200


@bp.post("/cosign/confirm/<token>")
def confirm(token):
    row = cosign.confirm(db.session, token, _valid_for())
    if row is None:
        return confirm_page(token)  # expired, used or unknown: that page says which
    db.session.commit()
    appeal = db.session.get(Appeal, row.appeal_id)
    text = services.text_for(db.session, appeal, str(get_locale()))
    return render_template("appeals/cosign_done.html", appeal=appeal, text=text,
                           step="thanks", row=row)


@bp.post("/cosign/renew/<token>")
@limiter.limit(_limit("COSIGN_LIMIT_ADDRESS"), key_func=_by_address)
def renew(token):
    renewed = cosign.renew(db.session, token)
    if renewed is None:
        return _unknown()
    row, new = renewed
    appeal = db.session.get(Appeal, row.appeal_id)
    locale = str(get_locale())
    _send_link(row, new, services.text_for(db.session, appeal, locale).title, locale)
    db.session.commit()
    return redirect(url_for("cosign.sent", slug=appeal.slug, lang=locale), 303)
