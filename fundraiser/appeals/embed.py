"""The embeddable widget: `/embed/<slug>`, a small page a co-signer puts in
an iframe on their own site — the goal bar, the figures in words and a
button that opens the appeal in a new tab.

It is the only page other sites may frame (see `_register_headers` in
fundraiser/__init__.py, EMBED_FRAME_ANCESTORS). It carries no script, no
form and no session cookie, so one rendering per appeal and language is
shared by every visitor through the public cache (fundraiser/cache.py) and
browsers and proxies may keep it for EMBED_MAX_AGE seconds."""

import hashlib

from flask import Blueprint, abort, current_app, make_response, render_template, request
from flask_babel import get_locale

from ..cache import appeal_scope
from ..extensions import db
from ..urls import url_language
from . import services
from .presenters import progress, signature_figures

bp = Blueprint("embed", __name__)


def _render(slug: str, locale: str) -> tuple[str, str] | None:
    appeal = services.get_public(db.session, slug)
    if appeal is None:
        return None
    html = render_template(
        "appeals/embed.html", appeal=appeal, progress=progress(appeal),
        signatures=signature_figures(appeal),
        text=services.text_for(db.session, appeal, locale),
        locale=locale)
    return html, hashlib.sha256(html.encode()).hexdigest()[:32]


@bp.get("/embed/<slug>")
def show(slug):
    if not services.is_slug(slug):  # never a cache entry for what cannot exist
        abort(404)
    locale = str(get_locale())
    shared = current_app.extensions["fundraiser.public_cache"].get_or_set(
        f"embed:{slug}:{locale}:{url_language() or ''}", lambda: _render(slug, locale),
        appeal_scope(slug))
    if shared is None:
        abort(404)
    html, digest = shared
    response = make_response(html)
    response.set_etag(digest)
    max_age = int(current_app.config.get("EMBED_MAX_AGE", 60))
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    # The language comes from /fr/… or ?lang= (in the URL, so in any cache's key),
    # else the lang cookie, else Accept-Language.
    response.vary.update(("Cookie", "Accept-Language"))
    return response.make_conditional(request)
