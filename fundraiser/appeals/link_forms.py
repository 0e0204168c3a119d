"""What the public forms that mail a confirmation link share (signing an
appeal, an organisation asking to co-sign): pages kept out of caches and
other sites' Referer (a token rides in their URLs), and Flask-Limiter keys
per client address and per email address (hashed: no address in Redis)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from flask import abort, current_app, request
from flask_limiter.util import get_remote_address

from ..extensions import db
from . import services


def private(response):
    """An `after_request` hook: a confirmation token may be in the URL."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def address_key(prefix: str) -> Callable[[], str]:
    return lambda: f"{prefix}-address:" + get_remote_address()


def email_key(prefix: str, normalise: Callable[[str], str]) -> Callable[[], str]:
    def key() -> str:
        email = normalise(request.form.get("email", ""))[:254]
        return f"{prefix}-email:" + hashlib.sha256(email.encode()).hexdigest()[:32]
    return key


def configured(name: str) -> Callable[[], str]:
    """A limit read from the app's configuration when a request is checked."""
    return lambda: current_app.config[name]


def signable(slug):
    """The published-or-closed appeal that asks for signatures, or 404."""
    appeal = services.get_public(db.session, slug)
    if appeal is None or not appeal.asks_signatures:
        abort(404)
    return appeal


def valid_for() -> timedelta:
    """How long an emailed confirmation link works (SIGN_LINK_VALID_DAYS)."""
    return timedelta(days=current_app.config["SIGN_LINK_VALID_DAYS"])
