"""Public pages: the list of appeals and one appeal with its gift form."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf

from ..donations import services as donations
from ..extensions import db
from ..matching import services as matching
from . import services

bp = Blueprint("appeals", __name__)


def progress(appeal):
    """Public goal progress, from the per-process cache (see fundraiser/cache.py)."""
    def compute():
        matched = matching.matched_minor(db.session, appeal)
        return donations.progress_for(db.session, appeal, matched_minor=matched)

    return current_app.extensions["fundraiser.public_cache"].get_or_set(
        ("progress", appeal.id), compute)


@bp.get("/")
def index():
    appeals = services.published(db.session)
    return render_template("appeals/index.html", appeals=appeals,
                           texts=services.texts_for(db.session, appeals, str(get_locale())),
                           progress={a.id: progress(a) for a in appeals})


def render_appeal(appeal, form=None):
    from ..donations.views import donation_form  # the form belongs to donations
    if form is None:
        form = donation_form(appeal, formdata=None)
        preset = request.args.get("amount", "")
        if preset.replace(".", "", 1).isdigit() and len(preset) <= 12:
            form.amount.data, form.other_amount.data = "other", preset
        form.source.data = request.args.get("ref", "")[:64]
    from ..donations import match_views
    amount_text = (form.other_amount.data if form.amount.data == "other"
                   else form.amount.data) or ""
    if not amount_text and len(appeal.suggested) >= 2:  # the page pre-selects the second
        amount_text = str(appeal.suggested[1].as_decimal())
    match_box = match_views.appeal_match_box(appeal, form.source.data or None, amount_text)
    return render_template(
        "appeals/show.html", appeal=appeal, form=form, progress=progress(appeal),
        text=services.text_for(db.session, appeal, str(get_locale())),
        supporters=donations.recent_supporters(db.session, appeal.id), match_box=match_box,
    )


# Stands in for the visitor's CSRF token in a cached page; see show().
_CSRF_PLACEHOLDER = "csrf-placeholder-3f9c1e7a"


def _render_shared(slug) -> str | None:
    """The appeal page as any visitor with this locale sees it, with a
    placeholder where each visitor's own CSRF token goes."""
    appeal = services.get_public(db.session, slug)
    if appeal is None:
        return None
    g.csrf_token = _CSRF_PLACEHOLDER  # Flask-WTF takes the request's token from g
    try:
        return render_appeal(appeal)
    finally:
        g.pop("csrf_token", None)


@bp.get("/appeals/<slug>")
def show(slug):
    if request.args:  # ?ref= or ?amount= make the page personal: no sharing
        appeal = services.get_public(db.session, slug)
        if appeal is None:
            abort(404)
        return render_appeal(appeal)
    # The page is the same for every visitor of one locale but for the CSRF
    # token, so it is rendered once per cache period and the token put in.
    html = current_app.extensions["fundraiser.public_cache"].get_or_set(
        ("page", slug[:80], str(get_locale())), lambda: _render_shared(slug))
    if html is None:
        abort(404)
    return html.replace(_CSRF_PLACEHOLDER, generate_csrf())


@bp.get("/lang/<code>")
def set_language(code):
    target = request.args.get("next", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        target = url_for("appeals.index")  # never an open redirect
    response = make_response(redirect(target))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response
