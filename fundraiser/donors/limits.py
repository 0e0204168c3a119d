"""How often a link may be asked for (Flask-Limiter, like the staff login's
limits): per client address, against one machine trying many addresses, and
per email, against one inbox being flooded from many machines. Every
request counts, whatever the answer, so the limits say nothing about which
addresses have given."""

from __future__ import annotations

import hashlib

from flask import current_app, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter


def _email() -> str:
    email = (request.form.get("email") or "").strip().lower()[:254]
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def by_address() -> str:
    return "portal-address:" + get_remote_address()


def by_email() -> str:
    return "portal-email:" + _email()


def _config(name):
    return lambda: current_app.config[name]


def guarded(on_breach=None):
    """Decorator: both limits on the view that mails links (POST only)."""

    def wrap(view):
        common = dict(methods=["POST"], on_breach=on_breach)
        view = limiter.limit(_config("DONOR_LINK_LIMIT_EMAIL"), key_func=by_email,
                             **common)(view)
        return limiter.limit(_config("DONOR_LINK_LIMIT_ADDRESS"), key_func=by_address,
                             **common)(view)

    return wrap
