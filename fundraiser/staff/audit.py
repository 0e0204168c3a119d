"""The audit log page: who did what, filtered by action, actor and date."""

from __future__ import annotations

from datetime import datetime
from datetime import time as dtime

from flask import render_template, request
from sqlalchemy import func, select

from ..extensions import db
from . import reports
from .auth import staff_view
from .blueprint import _page_arg, bp
from .models import VIEW_AUDIT, AuditEvent

# -- audit log ------------------------------------------------------------------

@bp.get("/audit")
@staff_view(VIEW_AUDIT)
def audit():
    action = (request.args.get("action") or "").strip()[:64]
    actor = (request.args.get("actor") or "").strip().lower()[:254]
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    if actor:
        query = query.where(AuditEvent.actor_email == actor)
    filters = reports.parse_filters(request.args)
    if filters.date_from:
        query = query.where(AuditEvent.at >= datetime.combine(filters.date_from, dtime()))
    if filters.date_to:
        query = query.where(AuditEvent.at < datetime.combine(filters.date_to, dtime.max))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // reports.PAGE_SIZE))
    page = min(_page_arg(), pages)
    events = db.session.scalars(query.order_by(AuditEvent.id.desc())
                                .offset((page - 1) * reports.PAGE_SIZE)
                                .limit(reports.PAGE_SIZE)).all()
    actions = db.session.scalars(select(AuditEvent.action).distinct()
                                 .order_by(AuditEvent.action)).all()
    return render_template("staff/audit.html", events=events, total=total, page=page,
                           pages=pages, action=action, actor=actor, f=filters,
                           actions=actions)
