"""Public pages: the list of appeals and one appeal with its gift form."""

import hashlib

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf

from ..cache import appeal_scope
from ..extensions import db
from ..text import safe_local_path
from ..urls import url_language
from . import services
from .presenters import progress, render_appeal

bp = Blueprint("appeals", __name__)


@bp.get("/")
def index():
    appeals = services.published(db.session)
    return render_template("appeals/index.html", appeals=appeals,
                           texts=services.texts_for(db.session, appeals, str(get_locale())),
                           progress={a.id: progress(a) for a in appeals})


def _render_shared(slug) -> str | None:
    """The appeal page as any visitor with this locale sees it: its forms
    carry no CSRF token (static/js/form_token.js fetches the visitor's own
    when they start on a form; without script the gift form is shown again
    with one, fundraiser.donations.views.refused_token)."""
    appeal = services.get_public(db.session, slug)
    if appeal is None:
        return None
    g.csrf_token = ""  # Flask-WTF takes the request's token from g
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
    # The page is the same for every visitor of one locale and address
    # prefix (/fr/… links stay under /fr/): rendered once per cache period,
    # it reads no session and sets no cookie, so a reader who only reads is
    # never tracked, and a warm copy is served before Flask (api/fastpath.py).
    if not services.is_slug(slug):  # never a cache entry for what cannot exist
        abort(404)
    shared = current_app.extensions["fundraiser.public_cache"].get_or_set(
        services.page_cache_key(slug, str(get_locale()), url_language()),
        lambda: _shared_page(slug), appeal_scope(slug))
    if shared is None:
        abort(404)
    html, digest = shared
    response = make_response(html)
    response.set_etag(digest, weak=True)
    # Browsers ask every time (a 304 costs the cache reads, no database).
    response.headers["Cache-Control"] = "no-cache"
    response.vary.update(("Cookie", "Accept-Language"))
    return response.make_conditional(request)


@bp.get("/form-token")
def form_token():
    """The visitor's CSRF token, for a form on a shared page (form_token.js).
    Starts their session; never stored by any cache."""
    response = jsonify(token=generate_csrf())
    response.headers["Cache-Control"] = "no-store"
    return response


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _shared_page(slug) -> tuple[bytes, str] | None:
    """The shared page's bytes (encoded once, not per answer) and digest."""
    html = _render_shared(slug)
    return None if html is None else (html.encode(), _digest(html)[:32])


@bp.get("/lang/<code>")
def set_language(code):
    # Never an open redirect, nor a line break in the Location header.
    target = safe_local_path(request.args.get("next", "/")) or url_for("appeals.index")
    response = make_response(redirect(target))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response
