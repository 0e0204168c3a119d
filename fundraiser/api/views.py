"""Public JSON API (DESIGN.md §6). Keep the shape stable: other tools read it."""

from flask import Blueprint, abort, current_app, jsonify, url_for

from ..appeals import services as appeals
from ..appeals.views import progress as appeal_progress
from ..extensions import csrf, db
from ..matching import services as matching
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
        "url": url_for("appeals.show", slug=appeal.slug, _external=True),
        "match_pools": matching.pools_json(db.session, appeal),
        "pledges": matching.pledges_json(db.session, appeal),
    }


@bp.get("/appeals")
def list_appeals():
    return jsonify([
        {"slug": a.slug, "title": a.title,
         "url": url_for("appeals.show", slug=a.slug, _external=True)}
        for a in appeals.published(db.session)
    ])


def _public_appeal_json(slug) -> dict | None:
    appeal = appeals.get_public(db.session, slug)
    return appeal_json(appeal) if appeal is not None else None


@bp.get("/appeals/<slug>")
def get_appeal(slug):
    # Served from the per-process cache (fundraiser/cache.py): a warm request
    # touches no database at all.
    body = current_app.extensions["fundraiser.public_cache"].get_or_set(
        ("api", slug[:80]), lambda: _public_appeal_json(slug))
    if body is None:
        abort(404)
    return jsonify(body)


@bp.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)


@bp.after_request
def public_cors(response):
    # Read-only public data: any site may embed progress.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers.setdefault("Cache-Control", "public, max-age=5")
    return response
