"""Who is logged in, and the one decorator every staff view goes through.

`staff_view(PERMISSION)` is the base "view class" of the staff side: it sends
an anonymous visitor to the login page, refuses (403) a user whose role lacks
the permission — checked on the model, `StaffUser.can()` — and marks the view
with the permission it needs, so a test can prove no view was left unguarded.
"""

from __future__ import annotations

import time
from functools import wraps

from flask import abort, jsonify, redirect, request, session, url_for
from flask_login import current_user, logout_user

from ..extensions import db, login
from ..text import safe_local_path
from . import sessions

# A login lasts at most this long, however active the session is (the
# server's own record says the same: sessions.MAX_AGE).
MAX_SESSION_SECONDS = int(sessions.MAX_AGE.total_seconds())


@login.user_loader
def _load_user(token: str):
    # Looked up on the server every request: a session ended there (logout,
    # log out everywhere) is over even for a copy of the cookie.
    return sessions.user_for(db.session, token)


@login.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/staff/api/") or request.is_json:
        return jsonify(error="login required"), 401
    return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))


def staff_view(permission: str):
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login.unauthorized()
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.staff_permission = permission
        return wrapped

    return decorate


def public_staff_view(view):
    """Login, set-password: reachable without a login, marked so as well."""
    view.staff_permission = None
    return view


def check_session_age() -> None:
    """Run before every staff request: a login older than the limit ends."""
    if current_user.is_authenticated:
        started = session.get("staff_auth_at")
        if not isinstance(started, int) or time.time() - started > MAX_SESSION_SECONDS:
            logout_user()
            session.clear()


def safe_next(target: str | None) -> str | None:
    """Only a path on this site under /staff/ (never an open redirect, nor a
    line break for the Location header)."""
    return safe_local_path(target, "/staff")


def client_ip() -> str:
    return (request.remote_addr or "")[:64]


def forbid_if_not(condition: bool) -> None:
    if not condition:
        abort(403)
