"""Requests from organisations to co-sign an appeal, waiting for staff:
approve (the organisation joins the appeal's co-signers, with its logo,
link and country, and the public pages drop their cache) or decline with a
reason. Editors and admins (EDIT_APPEALS); every decision is audited."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..appeals import cosign
from ..appeals.models import Appeal, CosignRequest
from ..extensions import db
from . import services
from .auth import client_ip, staff_view
from .blueprint import bp, commit
from .models import EDIT_APPEALS

SHOWN = (cosign.WAITING, cosign.UNCONFIRMED, cosign.APPROVED, cosign.DECLINED)


def _get(appeal_id, request_id=None):
    appeal = db.get_or_404(Appeal, appeal_id)
    if request_id is None:
        return appeal, None
    row = db.session.get(CosignRequest, request_id)
    if row is None or row.appeal_id != appeal.id:  # another appeal's request: not here
        abort(404)
    return appeal, row


def _render(appeal, status_filter, reason_errors=None, code=200):
    rows = cosign.for_appeal(db.session, appeal.id, status_filter)
    return render_template("staff/cosign_requests.html", appeal=appeal, rows=rows,
                           counts=cosign.counts(db.session, appeal.id), shown=status_filter,
                           states=SHOWN, reason_errors=reason_errors or {},
                           reason_max=cosign.REASON_MAX), code


def _status_arg():
    value = request.args.get("status", cosign.WAITING)
    return value if value in SHOWN else cosign.WAITING


def _back(appeal):
    return redirect(url_for("staff.cosign_requests", appeal_id=appeal.id), code=303)


def _audit(action, appeal, row, **details):
    services.audit(db.session, current_user, action, "cosign_request", row.id, ip=client_ip(),
                   appeal=appeal.slug, name=row.name, **details)


@bp.get("/appeals/<int:appeal_id>/cosign-requests")
@staff_view(EDIT_APPEALS)
def cosign_requests(appeal_id):
    return _render(_get(appeal_id)[0], _status_arg())


@bp.post("/appeals/<int:appeal_id>/cosign-requests/<int:request_id>/approve")
@staff_view(EDIT_APPEALS)
def approve_cosign_request(appeal_id, request_id):
    appeal, row = _get(appeal_id, request_id)
    try:
        cosigner = cosign.approve(db.session, row, current_user.email)
    except cosign.CosignError as exc:
        db.session.rollback()
        flash(_("%(name)s was not approved: %(why)s", name=row.name, why=_why(exc)), "error")
        return _back(appeal)
    _audit("cosign_request.approved", appeal, row, cosigner_id=cosigner.id,
           logo=row.logo_id is not None, url=row.url, country=row.country)
    commit()  # drops the cached public pages: the appeal shows the new co-signer at once
    flash(_("Approved: %(name)s is now listed on the appeal.", name=row.name))
    return _back(appeal)


@bp.post("/appeals/<int:appeal_id>/cosign-requests/<int:request_id>/decline")
@staff_view(EDIT_APPEALS)
def decline_cosign_request(appeal_id, request_id):
    appeal, row = _get(appeal_id, request_id)
    reason = (request.form.get("reason") or "").strip()
    try:
        cosign.decline(db.session, row, current_user.email, reason[:cosign.REASON_MAX + 1])
    except cosign.CosignError as exc:
        db.session.rollback()
        if str(exc) == "reason":
            message = _("Give a reason of at most %(max)s characters.", max=cosign.REASON_MAX)
            return _render(appeal, cosign.WAITING, {row.id: message}, 422)
        flash(_("%(name)s was not declined: %(why)s", name=row.name, why=_why(exc)), "error")
        return _back(appeal)
    _audit("cosign_request.declined", appeal, row, reason=row.decline_reason)
    commit(public=False)  # nothing public changes
    flash(_("Declined the request from %(name)s.", name=row.name))
    return _back(appeal)


def _why(exc):
    return {
        "not waiting": _("it has been decided already, or is not confirmed yet."),
        "too many co-signers": _("the appeal has as many co-signers as it can list."),
    }.get(str(exc), _("please try again."))
