"""The staff blueprint and what every staff page shares: per-request
plumbing (query count, session age, no caching, the 403 page), money
formatting, the one commit at the edge, the page argument.

Every staff view goes through `staff_view(PERMISSION)` (or is marked public:
login, set-password), parses the request, calls services, commits once, then
renders or redirects. The views live by area in this package (accounts,
dashboard, donations, donors, refunds, pools, appeals, cosigners, audit);
`routes.py` imports them all so their routes join this one blueprint."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, render_template, request
from flask_babel import get_locale
from sqlalchemy import event

from ..extensions import db
from ..money import Money
from ..urls import query_int
from .auth import check_session_age

bp = Blueprint("staff", __name__, url_prefix="/staff")


# -- per-request plumbing -----------------------------------------------------

@bp.record_once
def _count_queries(state):
    """Count SQL statements per staff request (shown at the foot of each page)."""
    with state.app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args, **_kw):
        if g and "staff_queries" in g:
            g.staff_queries += 1


@bp.before_request
def _before():
    g.staff_queries = 0
    check_session_age()


@bp.after_request
def _after(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(403)
def _forbidden(_e):
    if request.path.startswith("/staff/api/"):
        return jsonify(error="forbidden"), 403
    return render_template("staff/403.html"), 403


@bp.app_context_processor
def _staff_context():
    return {"query_count": lambda: g.get("staff_queries")}


def _money(minor, currency):
    return Money(int(minor), currency).format(str(get_locale()))


def commit(public: bool = True):
    """Commit a staff change, and drop the cached public pages on every host
    (a new version of the cache's `all` scope) so they show it at once.
    Staff changes are rare; the cache refills on the next views. `public=False`
    for what no public page shows (logins, accounts, exports): a stranger
    failing to log in must not empty the cache for everyone."""
    db.session.commit()
    if public:
        current_app.extensions["fundraiser.public_cache"].clear()


def _page_arg() -> int:
    """?page=N, or 1 for anything that is not a plain page number."""
    return query_int(request.args.get("page"), 1, top=10**6) or 1
