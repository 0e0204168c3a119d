"""Public JSON API (DESIGN.md §6). Keep the shape stable: other tools read it."""

import hashlib

from flask import Blueprint, Response, abort, current_app, jsonify, request

from ..appeals import services as appeals
from ..appeals import signatures as appeal_signatures
from ..appeals.presenters import about_figure as appeal_about
from ..appeals.presenters import progress as appeal_progress
from ..cache import appeal_scope
from ..extensions import csrf, db
from ..matching import figures as match_figures
from ..urls import public_url
from .fastpath import cache_key
from .openapi import OPENAPI

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def appeal_json(appeal) -> dict:
    progress = appeal_progress(appeal)
    return {
        "slug": appeal.slug,
        "title": appeal.title,
        "status": appeal.status,
        "currency": appeal.currency,
        "goal_minor": appeal.goal_minor,
        "raised_minor": progress.raised_minor,
        "matched_minor": progress.matched_minor,
        "total_minor": progress.total_minor,
        "donor_count": progress.donor_count,
        "donation_count": progress.donation_count,
        "ends_at": _iso(appeal.ends_at),
        "url": public_url("appeals.show", slug=appeal.slug),
        "match_pools": match_figures.pools_json(db.session, appeal),
        "pledges": match_figures.pledges_json(db.session, appeal),
        "signatures": appeal_signatures.figures(db.session, appeal),
        # Added for issue 19; every figure above stays in the appeal's currency.
        "accepted_currencies": appeal.accepted_currencies,
        "second_currency": _second_currency(appeal),
    }


def _second_currency(appeal) -> dict | None:
    """The total in the appeal's second currency at today's rate, rounded
    as the page shows it ("about"), or None."""
    about = appeal_about(appeal)
    return None if about is None else {"currency": about.currency, "about_minor": about.minor}


@bp.get("/appeals")
def list_appeals():
    return jsonify([
        {"slug": a.slug, "title": a.title,
         "url": public_url("appeals.show", slug=a.slug)}
        for a in appeals.published(db.session)
    ])


def _public_appeal_json(slug) -> tuple[bytes, str] | None:
    """The progress JSON as sent, and its digest (the ETag)."""
    appeal = appeals.get_public(db.session, slug)
    if appeal is None:
        return None
    body = current_app.json.response(appeal_json(appeal)).get_data()
    return body, hashlib.sha256(body).hexdigest()[:32]


@bp.get("/appeals/<slug>")
def get_appeal(slug):
    # Served from the public cache (fundraiser/cache.py): a warm request
    # touches no database at all.
    if not appeals.is_slug(slug):  # never a cache entry for what cannot exist
        abort(404)
    cache = current_app.extensions["fundraiser.public_cache"]
    found = cache.get_or_set(cache_key(slug), lambda: _public_appeal_json(slug),
                             appeal_scope(slug))
    if found is None:
        abort(404)
    body, digest = found
    # A poller that already has these figures gets `304 Not Modified`, no body.
    response = Response(body, mimetype="application/json")
    response.set_etag(digest, weak=True)
    # Browsers and proxies may keep it API_MAX_AGE seconds (never longer than
    # the server's own cache lifetime; not at all without a cache), then ask
    # again with If-None-Match.
    response.headers["Cache-Control"] = f"public, max-age={_max_age(cache)}"
    return response.make_conditional(request)


API_MAX_AGE = 5  # seconds a poller may show figures without asking again


def _max_age(cache) -> int:
    return min(API_MAX_AGE, cache.lifetime) if cache.enabled else 0


@bp.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)


@bp.after_request
def public_cors(response):
    # Read-only public data: any site may embed progress.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers.setdefault("Cache-Control", "public, max-age=5")
    return response
