"""Slowing down password guessing on the staff login, without handing an
attacker a way to lock staff out (Flask-Limiter; see the README).

Only failed attempts (answer 401) count, under three keys, each with a
short and a long window, so a guesser first waits a minute, then an hour:

- per client address, whatever the account (password spraying);
- per account *and* address: the one an attacker hammering one account
  meets first; the real person, from another address, is not slowed;
- per account from anywhere: looser, against many addresses at once; a
  browser that has logged in to that account before (a signed cookie) is
  exempt, so even this one does not lock the owner out.

The keys use the email as typed, whether or not it belongs to anyone, so
the answers (and their timing) say nothing about which emails are staff.
Site-wide, failures past STAFF_LOGIN_ALERT in its window send admins one
email per window (login_alert.py)."""

from __future__ import annotations

import hashlib

from flask import current_app, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse

from ..extensions import limiter

DEVICE_COOKIE = "staff_device"
DEVICE_DAYS = 90


def _account() -> str:
    email = (request.form.get("email") or "").strip().lower()[:254]
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def by_address() -> str:
    return "address:" + get_remote_address()


def by_account_and_address() -> str:
    return f"account:{_account()}:address:{get_remote_address()}"


def by_account() -> str:
    return "account:" + _account()


def _failed(response) -> bool:
    return response.status_code == 401


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="staff-device")


def known_device() -> bool:
    """This browser logged in to the account being tried before."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return False
    try:
        accounts = _signer().loads(cookie, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return False
    return isinstance(accounts, list) and _account() in accounts


def remember_device(response) -> None:
    """After a successful login: this browser may skip the per-account limit."""
    accounts = []
    try:
        accounts = _signer().loads(request.cookies.get(DEVICE_COOKIE) or "",
                                   max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        pass
    if not isinstance(accounts, list):
        accounts = []
    accounts = ([_account()] + [a for a in accounts if a != _account()])[:5]
    response.set_cookie(DEVICE_COOKIE, _signer().dumps(accounts),
                        max_age=DEVICE_DAYS * 86400, path="/staff", httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])


def _config(name):
    return lambda: current_app.config[name]


def guarded(on_breach=None):
    """Decorator: the three limits on a login view (POST only, failures
    only); `on_breach` gives the page a refused attempt gets."""
    return lambda view: _limited(view, on_breach)


def _limited(view, on_breach):
    common = dict(methods=["POST"], deduct_when=_failed, on_breach=on_breach)
    view = limiter.limit(_config("STAFF_LOGIN_LIMIT_ACCOUNT"), key_func=by_account,
                         exempt_when=known_device, **common)(view)
    view = limiter.limit(_config("STAFF_LOGIN_LIMIT_ACCOUNT_ADDRESS"),
                         key_func=by_account_and_address, **common)(view)
    return limiter.limit(_config("STAFF_LOGIN_LIMIT_ADDRESS"), key_func=by_address,
                         **common)(view)


def burst_started() -> bool:
    """Count one failed or refused attempt, site-wide. True once per window,
    when the count passes STAFF_LOGIN_ALERT: time to tell the admins."""
    if not limiter.enabled:  # RATELIMIT_ENABLED off: no counters to keep
        return False
    strategy = limiter.limiter
    threshold = parse(current_app.config["STAFF_LOGIN_ALERT"])
    if strategy.hit(threshold, "staff-login-failures"):
        return False  # under the threshold
    once = parse(f"1 per {threshold.get_expiry()} seconds")
    return strategy.hit(once, "staff-login-alert")
