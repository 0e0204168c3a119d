"""One appeal's signatures for staff: confirmed, waiting for their link, or
removed; search by name or email; the CSV export; removing an abusive
signature (it stops counting at once, the public pages drop their cache,
and the audit log says who removed whom)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..appeals import signatures
from ..appeals.models import Appeal, Signature
from ..extensions import db
from . import services
from .auth import client_ip, staff_view
from .blueprint import _page_arg, bp, commit
from .csv_export import _stream_csv
from .models import EDIT_APPEALS, EXPORT, VIEW

PAGE_SIZE = 50
STATES = ("all", "confirmed", "pending", "removed")


def _filters():
    q = (request.args.get("q") or "").strip()[:100]
    state = request.args.get("state", "all")
    return q, state if state in STATES else "all"


def _query(appeal_id, q, state):
    query = select(Signature).where(Signature.appeal_id == appeal_id)
    if q:
        needle = q.lower()
        query = query.where(or_(func.lower(Signature.name).contains(needle, autoescape=True),
                                Signature.email.contains(needle, autoescape=True)))
    if state == "confirmed":
        query = query.where(Signature.confirmed_at.is_not(None), Signature.removed_at.is_(None))
    elif state == "pending":
        query = query.where(Signature.confirmed_at.is_(None), Signature.removed_at.is_(None))
    elif state == "removed":
        query = query.where(Signature.removed_at.is_not(None))
    return query


def _args(q, state) -> dict:
    """The filters as query arguments for links (left out when empty)."""
    return {k: v for k, v in (("q", q), ("state", state)) if v and v != "all"}


def state_of(row: Signature) -> str:
    if row.removed_at is not None:
        return "removed"
    return "confirmed" if row.confirmed_at is not None else "pending"


@bp.get("/appeals/<int:appeal_id>/signatures")
@staff_view(VIEW)
def signature_list(appeal_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    q, state = _filters()
    query = _query(appeal.id, q, state)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(_page_arg(), pages)  # past the end: the last page
    rows = db.session.scalars(query.order_by(Signature.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template("staff/signatures.html", appeal=appeal, rows=rows, total=total,
                           page=page, pages=pages, q=q, state=state, states=STATES,
                           state_of=state_of, args=_args(q, state),
                           counted=signatures.confirmed_count(db.session, appeal.id))


@bp.get("/appeals/<int:appeal_id>/signatures.csv")
@staff_view(EXPORT)
def signatures_csv(appeal_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    q, state = _filters()
    services.audit(db.session, current_user, "export.signatures", "appeal", appeal.id,
                   ip=client_ip(), q=q, state=state)
    commit(public=False)
    query = _query(appeal.id, q, state).order_by(Signature.id)

    def rows():
        last = 0
        while True:  # by id, not offset: a row removed meanwhile shifts nothing
            chunk = db.session.scalars(query.where(Signature.id > last).limit(1000)).all()
            db.session.rollback()  # no transaction held while streaming
            if not chunk:
                return
            for s in chunk:
                yield (s.id, s.name, s.email, s.country, s.comment, state_of(s),
                       s.consent_contact, s.locale, s.created_at, s.confirmed_at)
            last = chunk[-1].id

    return _stream_csv(["id", "name", "email", "country", "comment", "state", "consent_contact",
                        "locale", "signed_at", "confirmed_at"], rows(),
                       f"signatures-{appeal.slug}.csv")


@bp.post("/appeals/<int:appeal_id>/signatures/<int:signature_id>/remove")
@staff_view(EDIT_APPEALS)
def remove_signature(appeal_id, signature_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    row = db.session.get(Signature, signature_id)
    if row is None or row.appeal_id != appeal.id:
        abort(404)  # another appeal's signature: not here
    was_counted = row.confirmed_at is not None and row.removed_at is None
    if signatures.remove(db.session, row):
        services.audit(db.session, current_user, "signature.removed", "signature", row.id,
                       ip=client_ip(), appeal=appeal.slug, name=row.name, email=row.email,
                       was_counted=was_counted)
        commit()  # the count drops on the public pages at once
        flash(_("Removed the signature of %(name)s.", name=row.name))
    else:
        flash(_("That signature was removed already."))
    return redirect(url_for("staff.signature_list", appeal_id=appeal.id, **_args(*_filters())),
                    code=303)
