"""The referrer's code, carried in a signed cookie from the link's visit to
a later signature or gift in the same browser. Forged, expired or unknown
cookies are ignored. The first link a browser came through for an appeal
wins: a later link to the same appeal does not replace it (the cookie holds
one code: a link to another appeal does)."""

from __future__ import annotations

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from ..extensions import db
from . import services

COOKIE = "ref"
MAX_AGE = 30 * 86400


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="referral-link")


def carried_code() -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 200:
        return None
    try:
        code = _serializer().loads(raw, max_age=MAX_AGE)
    except BadData:
        return None
    return code if isinstance(code, str) else None


def carried_link_id(appeal_id: int) -> int | None:
    """The link this browser came through to this appeal, if any."""
    return services.attributable(db.session, carried_code(), appeal_id)


def remember(response, link) -> None:
    """Carry `link` unless the browser already carries one to its appeal."""
    if carried_link_id(link.appeal_id) is not None:
        return
    response.set_cookie(COOKIE, _serializer().dumps(link.code), max_age=MAX_AGE,
                        httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
