"""Public pages: the list of appeals and one appeal with its gift form."""

import hashlib

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
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
    # The page is the same for every visitor of one locale and address
    # prefix (/fr/… links stay under /fr/) but for the CSRF token, so it is
    # rendered once per cache period and the token put in.
    if not services.is_slug(slug):  # never a cache entry for what cannot exist
        abort(404)
    locale = str(get_locale())
    shared = current_app.extensions["fundraiser.public_cache"].get_or_set(
        f"page:{slug}:{locale}:{url_language() or ''}", lambda: _shared_page(slug),
        appeal_scope(slug))
    if shared is None:
        abort(404)
    html, digest = shared
    token = generate_csrf()
    response = make_response(html.replace(_CSRF_PLACEHOLDER, token))
    # A browser holding this very page (same figures, language and session)
    # gets `304 Not Modified`; its copy's CSRF token is still this session's.
    session_token = str(session.get(current_app.config.get("WTF_CSRF_FIELD_NAME",
                                                             "csrf_token"), ""))
    response.set_etag(f"{digest}-{_digest(session_token)[:12]}", weak=True)
    # Each visitor's copy carries their own token: only their browser keeps
    # it, and asks every time (a 304 costs the cache reads, no database).
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Cookie", "Accept-Language"))
    return response.make_conditional(request)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _shared_page(slug) -> tuple[str, str] | None:
    html = _render_shared(slug)
    return None if html is None else (html, _digest(html)[:32])


@bp.get("/lang/<code>")
def set_language(code):
    # Never an open redirect, nor a line break in the Location header.
    target = safe_local_path(request.args.get("next", "/")) or url_for("appeals.index")
    response = make_response(redirect(target))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response
