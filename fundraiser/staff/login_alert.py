"""The email admins get when failed staff logins come in a burst (once per
window, however long the burst lasts; login_limits.burst_started decides)."""

from __future__ import annotations

import json
import logging

from flask_babel import gettext as _
from flask_mailman import EmailMessage
from sqlalchemy import select

from ..after_commit import after_commit
from ..payments.models import utcnow
from .models import AuditEvent, StaffUser

log = logging.getLogger(__name__)


def admin_emails(session) -> list[str]:
    return list(session.scalars(select(StaffUser.email).where(
        StaffUser.role == "admin", StaffUser.is_active.is_(True)).order_by(StaffUser.email)))


def send_burst_alert(session, *, count: int, minutes: int, address: str,
                     audit_url: str) -> None:
    """Record the burst in the audit log and queue one email to every active
    admin, sent when the caller commits."""
    session.add(AuditEvent(
        at=utcnow(), actor_id=None, actor_email="login back-off", action="staff.login_burst",
        details=json.dumps({"failures_over": count, "minutes": minutes}), ip=address[:64]))
    session.flush()
    to = admin_emails(session)
    if not to:
        log.warning("staff login burst (%s in %s min), and no admin to tell", count, minutes)
        return
    subject = _("Staff login: many failed attempts")
    body = _(
        "More than %(count)s staff logins failed or were refused within %(minutes)s "
        "minutes.\n\n"
        "The latest came from the address %(address)s. Logins are being slowed down "
        "per address and per account, so no account is locked; you get this email "
        "once per period, however long it goes on.\n\n"
        "If this is not your team mistyping: check the audit log, make sure every "
        "staff password is long and unique, and consider blocking the addresses at "
        "your proxy.\n\nAudit log: %(url)s", count=count, minutes=minutes, address=address,
        url=audit_url)
    message = EmailMessage(subject=subject, body=body, to=to)

    def deliver():
        try:
            message.send()
        except OSError:
            log.exception("staff login burst alert not sent")

    after_commit(session, deliver)
    log.warning("staff login burst (%s in %s min), latest from %s: admins alerted",
                count, minutes, address)
