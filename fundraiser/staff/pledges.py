"""An appeal's matching pledges, as staff see them: who pledged what, how
much of it is left, and where each saved-card pledge's closing charge stands
— above all the ones that wait for the pledger's bank (3-D Secure), which
staff can mail a new link for when the first was lost."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..appeals.models import Appeal
from ..donations import pledge_auth
from ..extensions import db
from ..matching import card_pledges
from ..matching.models import CARD_SAVED, PLEDGE_LAPSED, MatchPledge
from ..payments import states
from . import services
from .auth import client_ip, staff_view
from .blueprint import bp, commit
from .models import EDIT_APPEALS, VIEW


def charge_state(pledge: MatchPledge, charge) -> str:
    """One word for where a pledge's money stands, for the page."""
    if pledge.mode != CARD_SAVED:
        return "pay_now"
    if pledge.status == PLEDGE_LAPSED:
        return "lapsed"
    if charge is None:
        return "card_saved" if pledge.status != "closed" else "not_charged"
    if charge.status in states.COUNTED:
        return "charged"
    if charge.status == states.REFUNDED:
        return "refunded"
    if charge.status == states.REQUIRES_ACTION:
        return "waiting" if pledge.auth_requested_at else "to_ask"
    return "failed" if charge.status in (states.FAILED, states.CANCELED) else "processing"


@bp.get("/appeals/<int:appeal_id>/pledges")
@staff_view(VIEW)
def pledges(appeal_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    rows = [(p, charge, charge_state(p, charge))
            for p, charge in card_pledges.for_appeal(db.session, appeal.id)]
    return render_template("staff/pledges.html", appeal=appeal, rows=rows,
                           waiting=sum(1 for *_r, state in rows if state == "waiting"))


@bp.post("/appeals/<int:appeal_id>/pledges/<int:pledge_id>/send-link")
@staff_view(EDIT_APPEALS)
def send_pledge_link(appeal_id, pledge_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    pledge = db.session.get(MatchPledge, pledge_id)
    if pledge is None or pledge.appeal_id != appeal.id:
        abort(404)
    if pledge_auth.send_link_again(db.session, pledge.id):
        services.audit(db.session, current_user, "pledge.auth_link_sent", "appeal", appeal.id,
                       ip=client_ip(), pledge=pledge.code)
        commit(public=False)
        flash(_("A new link was sent to %(email)s; the old one no longer works.",
                email=pledge.pledger_email))
    else:
        db.session.rollback()
        flash(_("This pledge's charge no longer waits for the pledger: nothing was sent."))
    return redirect(url_for("staff.pledges", appeal_id=appeal.id) + f"#pledge-{pledge.id}",
                    code=303)
