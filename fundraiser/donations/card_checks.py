"""The card-testing defences as the gift views use them: whose attempt this
is (the client's address, the donor's email, the card), whether it may go
ahead, and the answer a refused donor reads, in their language, with
Retry-After. The counting itself is fundraiser/abuse (README: "Card testing")."""

from __future__ import annotations

import logging
import math

from flask import current_app, jsonify, render_template
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.util import get_remote_address

from ..abuse.guard import OK, Verdict, subject_keys
from ..abuse.store import BLOCKED
from ..extensions import db

log = logging.getLogger(__name__)


def _defences():
    return current_app.extensions["fundraiser.card_defences"]


def now():
    return _defences().clock()


def enabled() -> bool:
    return _defences().enabled


def keys(email: str | None = None, card: str | None = None) -> dict[str, str]:
    return subject_keys(_defences().secret, ip=get_remote_address(), email=email, card=card)


def check(email: str | None = None, card: str | None = None) -> Verdict:
    d = _defences()
    if not d.enabled:
        return Verdict()
    return d.guard.check(db.session, keys(email, card), d.clock())


def record(email: str | None = None, card: str | None = None, *,
           declined: bool = False, what: str = "") -> Verdict:
    """Counts one attempt (a decline weighs more). The caller commits."""
    d = _defences()
    if not d.enabled:
        return Verdict()
    verdict = d.guard.record(db.session, keys(email, card), d.clock(), declined=declined)
    if verdict.kind == BLOCKED:
        log.warning("card guard: %s blocked by its %s count (%s)", get_remote_address(),
                    verdict.subject, what)
    return verdict


def attempt(email: str | None = None, card: str | None = None, *, what: str = "") -> Verdict:
    """Refused (the verdict) or counted and allowed (an OK verdict)."""
    verdict = check(email, card)
    if verdict.kind != OK:
        return verdict
    record(email, card, what=what)
    return Verdict()


def message(verdict: Verdict) -> str:
    if verdict.kind == BLOCKED:
        minutes = max(1, math.ceil(verdict.retry_after / 60))
        return ngettext(
            "For your safety, card payments from here are paused after too many attempts. "
            "Please try again in %(num)s minute. Nothing was charged.",
            "For your safety, card payments from here are paused after too many attempts. "
            "Please try again in %(num)s minutes. Nothing was charged.", minutes)
    return ngettext(
        "Too many payment attempts in a short time. Please wait %(num)s second, then try "
        "again. Nothing was charged.",
        "Too many payment attempts in a short time. Please wait %(num)s seconds, then try "
        "again. Nothing was charged.", verdict.retry_after)


def refused_json(verdict: Verdict):
    response = jsonify(status=verdict.kind, message=message(verdict),
                       retry_after=verdict.retry_after)
    response.status_code = 429
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


def refused_page(verdict: Verdict):
    response = current_app.make_response(
        (render_template("errors/429.html", message=message(verdict)), 429))
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


def paused_page():
    response = current_app.make_response(
        (render_template("errors/429.html", title=_("Card gifts are paused"),
                         message=paused_message()), 503))
    response.headers["Retry-After"] = "3600"
    return response


# -- the per-appeal breaker ----------------------------------------------------

def paused(appeal_id: int):
    """The breaker row while card gifts to this appeal are paused, else None."""
    d = _defences()
    if not d.enabled:
        return None
    return d.breaker.paused(db.session, appeal_id, d.clock())


def paused_message() -> str:
    return _("Card gifts to this appeal are paused for a while, because many cards were "
             "declined here in a short time. Nothing has been charged. Please come back "
             "in an hour.")


def paused_json():
    response = jsonify(status="paused", message=paused_message())
    response.status_code = 503
    response.headers["Retry-After"] = "3600"
    return response


def note_charge(appeal_id: int, email: str, card: str | None, *, declined: bool) -> None:
    """After a card was sent to the processor: one more attempt on the
    appeal, and if it was declined, the decline's weight."""
    d = _defences()
    if not d.enabled:
        return
    d.breaker.note_attempt(db.session, appeal_id, d.clock())
    if declined:
        note_decline(appeal_id, email, card)


def note_decline(appeal_id: int, email: str, card: str | None = None) -> None:
    """A decline (at once, or after 3-D Secure): its extra weight on the
    subjects (their attempt was counted when it was let through) and on the
    appeal's breaker."""
    d = _defences()
    if not d.enabled:
        return
    at = d.clock()
    d.guard.record(db.session, keys(email, card), at, declined=True, attempt=False)
    if d.breaker.note_decline(db.session, appeal_id, at):
        log.warning("card breaker tripped for appeal %s", appeal_id)
