"""The appeal editor's co-signers page: add one (with a logo) or many at
once, edit, reorder, remove. Plain forms that post and redirect, so it works
without JavaScript; every change is audited."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..appeals import services as appeals
from ..appeals.models import Appeal, Cosigner
from ..extensions import db
from ..media import services as media
from ..referrals import services as referrals
from ..referrals.share import share_link
from ..urls import public_url
from . import services
from .auth import client_ip, staff_view
from .blueprint import bp, commit
from .forms import CosignerBulkForm, CosignerForm
from .models import EDIT_APPEALS
from .uploads import stored_upload

MOVES = ("top", "up", "down", "bottom")


def _messages():
    return {
        "co-signer name is required": _("Give the organisation's name."),
        "control characters": _("Remove the invisible control characters from the text."),
        "too long": _("Shorten the text: names up to 200 characters, countries up to 80, "
                      "web addresses up to 500."),
        "bad web address": _("Web addresses must start with https:// or http:// and "
                             "name a site, like https://example.org."),
        "too many parts": _("Use at most two “|” signs: name | country | web address."),
        "too many co-signers": _("An appeal can have at most %(max)s co-signers.",
                                 max=appeals.COSIGNERS_MAX),
    }


def _message(code):
    return _messages().get(code, _("The co-signer could not be saved. Check the values."))


def _audit(action, appeal, **details):
    services.audit(db.session, current_user, action, "appeal", appeal.id, ip=client_ip(),
                   slug=appeal.slug, **details)


def _get(appeal_id, cosigner_id=None):
    appeal = db.get_or_404(Appeal, appeal_id)
    if cosigner_id is None:
        return appeal, None
    cosigner = db.session.get(Cosigner, cosigner_id)
    if cosigner is None or cosigner.appeal_id != appeal.id:
        abort(404)
    return appeal, cosigner


def _render_list(appeal, form=None, bulk=None, status=200):
    return render_template("staff/cosigners.html", appeal=appeal,
                           form=form or CosignerForm(formdata=None),
                           bulk=bulk or CosignerBulkForm(formdata=None)), status


def _back(appeal, cosigner=None):
    anchor = f"#cosigner-{cosigner.id}" if cosigner is not None else ""
    return redirect(url_for("staff.cosigners", appeal_id=appeal.id) + anchor, code=303)


@bp.get("/appeals/<int:appeal_id>/cosigners")
@staff_view(EDIT_APPEALS)
def cosigners(appeal_id):
    return _render_list(_get(appeal_id)[0])


@bp.post("/appeals/<int:appeal_id>/cosigners")
@staff_view(EDIT_APPEALS)
def add_cosigner(appeal_id):
    appeal, _none = _get(appeal_id)
    form = CosignerForm()
    if form.validate_on_submit():
        try:
            fields = appeals.check_cosigner(form.name.data, form.country.data, form.url.data)
            logo = stored_upload(form.logo, media.LOGO)
            added = appeals.add_cosigners(db.session, appeal, [fields], logo=logo)
        except appeals.AppealError as exc:
            db.session.rollback()
            form.form_errors.append(_message(exc.args[0]))
        except media.UploadError:
            db.session.rollback()
        else:
            _audit("cosigner.added", appeal, names=[fields["name"]], logo=logo is not None)
            commit()
            flash(_("Added %(name)s.", name=fields["name"]))
            return _back(appeal, added[0])
    return _render_list(appeal, form=form, status=422)


@bp.post("/appeals/<int:appeal_id>/cosigners/bulk")
@staff_view(EDIT_APPEALS)
def add_cosigners_bulk(appeal_id):
    appeal, _none = _get(appeal_id)
    bulk = CosignerBulkForm()
    if bulk.validate_on_submit():
        try:
            items = appeals.parse_cosigner_lines(bulk.lines.data)
            appeals.add_cosigners(db.session, appeal, items)
        except appeals.AppealError as exc:
            db.session.rollback()
            line = exc.args[1] if len(exc.args) > 1 else None
            text = _message(exc.args[0])
            bulk.lines.errors.append(_("Line %(number)s: %(problem)s", number=line,
                                       problem=text) if line else text)
        else:
            _audit("cosigner.added", appeal, names=[c["name"] for c in items][:50],
                   count=len(items))
            commit()
            flash(_("Added %(count)s co-signers.", count=len(items)))
            return _back(appeal)
    return _render_list(appeal, bulk=bulk, status=422)


@bp.route("/appeals/<int:appeal_id>/cosigners/<int:cosigner_id>", methods=["GET", "POST"])
@staff_view(EDIT_APPEALS)
def edit_cosigner(appeal_id, cosigner_id):
    appeal, cosigner = _get(appeal_id, cosigner_id)
    form = CosignerForm(obj=cosigner if request.method == "GET" else None)
    if request.method == "GET":
        form.position.data = cosigner.position + 1
    if form.validate_on_submit():
        try:
            fields = appeals.check_cosigner(form.name.data, form.country.data, form.url.data)
            logo = stored_upload(form.logo, media.LOGO)
        except appeals.AppealError as exc:
            db.session.rollback()
            form.form_errors.append(_message(exc.args[0]))
        except media.UploadError:
            db.session.rollback()
        else:
            if logo is None:
                logo = None if form.remove_logo.data else cosigner.logo
            changed = appeals.update_cosigner(db.session, cosigner, fields, logo=logo)
            moved = None
            if form.position.data and form.position.data != cosigner.position + 1:
                moved = appeals.move_cosigner(db.session, appeal, cosigner.id,
                                              form.position.data)
            if changed or moved:
                _audit("cosigner.updated", appeal, name=cosigner.name, fields=changed,
                       position=[moved, cosigner.position + 1] if moved else None)
                commit()
                flash(_("Saved %(name)s.", name=cosigner.name))
            else:
                flash(_("Nothing changed."))
            return _back(appeal, cosigner)
    status = 422 if form.errors or form.form_errors else 200
    link = referrals.cosigner_link(db.session, appeal.id, cosigner.id)
    db.session.commit()  # made on first need, for co-signers older than links
    return render_template("staff/cosigner_edit.html", appeal=appeal, cosigner=cosigner,
                           form=form, share_url=share_link(link.code),
                           report_url=public_url("referrals.cosigner_report",
                                                 token=link.report_token)), status


@bp.post("/appeals/<int:appeal_id>/cosigners/<int:cosigner_id>/move")
@staff_view(EDIT_APPEALS)
def move_cosigner(appeal_id, cosigner_id):
    appeal, cosigner = _get(appeal_id, cosigner_id)
    where = request.form.get("to", "")
    if where not in MOVES:
        abort(400)
    current = cosigner.position + 1
    target = {"top": 1, "up": current - 1, "down": current + 1,
              "bottom": appeals.COSIGNERS_MAX}[where]
    old = appeals.move_cosigner(db.session, appeal, cosigner.id, target)
    if old != cosigner.position + 1:
        _audit("cosigner.moved", appeal, name=cosigner.name,
               position=[old, cosigner.position + 1])
        commit()
    return _back(appeal, cosigner)


@bp.post("/appeals/<int:appeal_id>/cosigners/<int:cosigner_id>/delete")
@staff_view(EDIT_APPEALS)
def remove_cosigner(appeal_id, cosigner_id):
    appeal, cosigner = _get(appeal_id, cosigner_id)
    name = cosigner.name
    appeals.remove_cosigner(db.session, appeal, cosigner.id)
    _audit("cosigner.removed", appeal, name=name)
    commit()
    flash(_("Removed %(name)s.", name=name))
    return _back(appeal)
