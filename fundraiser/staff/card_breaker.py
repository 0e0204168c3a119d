"""Staff side of the card-testing breaker (fundraiser/abuse/breaker.py): the
email to staff when an appeal's card gifts pause (once per trip), the banner
on every staff page while one is paused, and the admin's reset button."""

from __future__ import annotations

import logging

from flask import current_app, flash, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_mailman import EmailMessage
from sqlalchemy import select

from .. import signals
from ..after_commit import after_commit
from ..appeals.models import Appeal
from ..extensions import db
from . import services
from .auth import client_ip, staff_view
from .blueprint import bp, commit
from .models import RESUME_CARD_GIFTS, StaffUser

log = logging.getLogger(__name__)


def _defences():
    return current_app.extensions["fundraiser.card_defences"]


def _recipients(session) -> list[str]:
    configured = [a.strip() for a in
                  str(current_app.config.get("CARD_BREAKER_ALERT_TO") or "").split(",")
                  if a.strip()]
    return configured or list(session.scalars(
        select(StaffUser.email).where(StaffUser.role == "admin",
                                      StaffUser.is_active.is_(True))
        .order_by(StaffUser.id)))


def on_tripped(_sender, *, appeal_id, declines, resets_at, session, **_kw):
    """Emails staff, once the trip has committed (the breaker sends this
    signal only to the one request that tripped it)."""
    appeal = session.get(Appeal, appeal_id)
    to = _recipients(session)
    if appeal is None or not to:
        return
    link = current_app.config["APP_URL"].rstrip("/") + url_for("staff.dashboard")
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "en")):
        subject = _("Card gifts paused on %(title)s", title=appeal.title)
        body = _(
            "%(declines)s cards were declined on “%(title)s” in a short time, which looks "
            "like card testing. Card gifts to this appeal are paused for new visitors until "
            "%(resets_at)s UTC, or until an admin resumes them from the staff pages:\n\n"
            "%(link)s\n", declines=declines, title=appeal.title,
            resets_at=resets_at.strftime("%Y-%m-%d %H:%M"), link=link)
    message = EmailMessage(subject=subject, body=body, to=to)

    def send():
        try:
            message.send()
        except Exception:  # noqa: BLE001 — the pause stands; say the mail failed
            log.exception("card breaker alert for appeal %s not sent", appeal_id)

    after_commit(session, send)


def connect() -> None:
    signals.card_breaker_tripped.connect(on_tripped)


@bp.app_context_processor
def _paused_banner():
    """Every staff page names the appeals whose card gifts are paused."""
    def paused():
        d = _defences()
        if not d.enabled or not request.path.startswith("/staff") \
                or not current_user.is_authenticated:
            return []
        rows = d.breaker.all_paused(db.session, d.clock())
        titles = dict(db.session.execute(
            select(Appeal.id, Appeal.title).where(Appeal.id.in_([r.appeal_id for r in rows])))
            .all()) if rows else {}
        return [{"appeal_id": r.appeal_id, "title": titles.get(r.appeal_id, ""),
                 "declines": r.declines, "resets_at": r.resets_at} for r in rows]

    return {"card_breakers_paused": paused}


@bp.post("/appeals/<int:appeal_id>/card-breaker/reset")
@staff_view(RESUME_CARD_GIFTS)
def card_breaker_reset(appeal_id):
    d = _defences()
    if d.breaker.reset(db.session, appeal_id, d.clock(), by=current_user.email):
        services.audit(db.session, current_user, "card_breaker.reset", "appeal", appeal_id,
                       ip=client_ip())
        flash(_("Card gifts are open again on this appeal."), "success")
    else:
        flash(_("Card gifts on this appeal were not paused."), "info")
    commit()
    return redirect(url_for("staff.dashboard"), code=303)
