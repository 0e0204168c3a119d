"""Public matching pages: the match ledger, the live match preview, the
"match my friends" pledge form and a pledger's sharing page."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from ..appeals import services as appeals
from ..appeals.models import DRAFT, Appeal
from ..extensions import db
from ..limits import current as current_limits
from ..matching import card_pledges
from ..matching import figures as match_figures
from ..matching import ledger as match_ledger
from ..matching import services as matching
from ..matching.models import (
    CARD_SAVED,
    PLEDGE_ACTIVE,
    PLEDGE_CLOSED,
    PLEDGE_LAPSED,
    PLEDGE_PENDING,
    PLEDGE_WITHDRAWN,
    MatchPledge,
)
from ..money import MoneyError
from ..payments.gateway import GatewayError
from ..payments.models import utcnow
from ..urls import public_url
from . import cache_hooks, card_checks, services
from .match_presenters import (
    appeal_preview,
    can_pledge,
    donation_preview,
    pledge_form,
    preview_message,
    source_name,
    typed_or_preset,
)
from .presenters import render_thanks

bp = Blueprint("matching", __name__)


def preview_json(appeal_id, preview, pledge_code):
    return {"currency": preview.currency, "gift_minor": preview.gift_minor,
            "matched_minor": preview.matched_minor, "fully_matched": preview.fully_matched,
            "sources": [{"kind": s.source.kind, "name": source_name(s),
                         "take_minor": s.take_minor} for s in preview.steps],
            "message": preview_message(appeal_id, preview, pledge_code)}


@bp.get("/appeals/<slug>/match-preview")
def preview(slug):
    appeal = appeals.get_public(db.session, slug)
    if appeal is None:
        abort(404)
    ref = request.args.get("ref", "")[:16] or None
    try:
        amount = typed_or_preset(appeal, request.args.get("amount", "")[:32],
                                 request.args.get("currency", "")[:3].upper() or None)
        found = appeal_preview(appeal, amount, ref)
    except MoneyError:  # not an amount, or a currency without a rate now
        return jsonify(error="amount", message=""), 400
    return _preview_response(appeal.id, found, ref)


@bp.get("/give/<public_id>/match-preview")
def donation_preview_view(public_id):
    donation = services.by_public_id(db.session, public_id)
    if donation is None:
        abort(404)
    return _preview_response(donation.appeal_id, donation_preview(donation),
                             donation.source or None)


def _preview_response(appeal_id, preview, pledge_code):
    # A pool's remaining amount changes with every gift: never cache a preview.
    response = jsonify(preview_json(appeal_id, preview, pledge_code))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/appeals/<slug>/matching")
def ledger(slug):
    appeal = appeals.get_public(db.session, slug)
    if appeal is None:
        abort(404)
    pools = matching.pools_for(db.session, appeal.id)
    pledges = matching.pledges_for(db.session, appeal.id)
    entries = match_ledger.ledger_rows(db.session, appeal.id, limit=100)
    names = {("pool", p.id): match_figures.sponsor_label(p) or _("Anonymous sponsor")
             for p in pools}
    names.update({("pledge", p.id): p.shown_name
                  for p in matching.pledges_for(db.session, appeal.id, active_only=False)})
    return render_template("appeals/matching.html", appeal=appeal,
                           text=appeals.text_for(db.session, appeal, str(get_locale())),
                           pools=pools, pledges=pledges, entries=entries, names=names, now=utcnow(),
                           matched_minor=match_figures.matched_minor(db.session, appeal))


@bp.post("/give/<public_id>/pledge")
def pledge(public_id):
    donation = services.by_public_id(db.session, public_id)
    if donation is None:
        abort(404)
    if not can_pledge(donation):
        return redirect(url_for("donations.thanks", public_id=public_id), code=303)
    form = pledge_form(donation)
    if card_checks.paused(donation.appeal_id):
        return card_checks.paused_page()
    if form.validate_on_submit():
        verdict = card_checks.attempt(donation.email, what="pledge")
        if not verdict.ok:
            return card_checks.refused_page(verdict)
        name = form.display_name.data.strip()
        if form.mode.data == CARD_SAVED:
            new = services.start_card_pledge(db.session, donation, form.money, name,
                                             limits=current_limits())
            pledge_id, code, reference = new.id, new.code, f"pledge-{new.code}"
            # Committed before the gateway is called: no lock held during the call.
            db.session.commit()
            try:
                setup = current_app.extensions["fundraiser.gateway"].start_card_setup(
                    reference=reference, email=donation.email, name=donation.donor_name)
            except GatewayError as exc:
                form.mode.errors = [_(exc.user_message)]
            else:
                card_pledges.record_card_setup(db.session, pledge_id, setup)
                db.session.commit()
                return redirect(url_for("matching.pledge_card", code=code), code=303)
        else:
            funding, _pledge = services.start_pledge(
                db.session, donation, form.money, name, locale=str(get_locale()),
                limits=current_limits())
            db.session.commit()
            return redirect(url_for("donations.pay", public_id=funding.public_id), code=303)
    return render_thanks(donation, pledge_form=form), 422


def _pending_card_pledge_or_404(code):
    pledge = matching.pledge_by_code(db.session, code)
    if pledge is None or pledge.mode != CARD_SAVED or not pledge.setup_id:
        abort(404)
    return pledge


@bp.get("/match/<code>/card")
def pledge_card(code):
    """The pledger saves a card (SetupIntent); nothing is charged now."""
    pledge = _pending_card_pledge_or_404(code)
    if pledge.status != PLEDGE_PENDING:
        return redirect(url_for("matching.pledge_page", code=code))
    gateway = current_app.extensions["fundraiser.gateway"]
    appeal = db.session.get(Appeal, pledge.appeal_id)
    paused = card_checks.paused(appeal.id) and card_checks.paused_message()
    return render_template("donations/pledge_card.html", pledge=pledge, appeal=appeal,
                           text=appeals.text_for(db.session, appeal, str(get_locale())),
                           stripe_js_url=gateway.js_url, stripe_key=gateway.publishable_key,
                           paused=paused), 503 if paused else 200


@bp.post("/match/<code>/card/confirm")
def pledge_card_confirm(code):
    """The browser says the card is saved; ask the gateway what is true."""
    pledge = _pending_card_pledge_or_404(code)
    pledge_id, setup_id, appeal_id = pledge.id, pledge.setup_id, pledge.appeal_id
    email = services.by_payment_id(db.session, pledge.origin_payment_id).email \
        if pledge.origin_payment_id else None
    verdict = card_checks.check(email)
    if not verdict.ok:
        return card_checks.refused_json(verdict)
    db.session.rollback()  # no transaction open during the gateway call
    try:
        setup = current_app.extensions["fundraiser.gateway"].finish_card_setup(setup_id)
    except GatewayError as exc:
        return jsonify(status="error", message=_(exc.user_message)), 502
    card_checks.record(email, setup.card_fingerprint, what="saved card")
    card_checks.note_charge(appeal_id, email, setup.card_fingerprint,
                            declined=setup.status != "succeeded")
    card_pledges.record_card_setup(db.session, pledge_id, setup)
    cache_hooks.drop_after_commit(db.session, appeal_id)  # an active pledge is public
    db.session.commit()
    pledge = db.session.get(MatchPledge, pledge_id)
    if pledge.status == PLEDGE_ACTIVE:
        return jsonify(status="active",
                       next=url_for("matching.pledge_page", code=code))
    return jsonify(status=setup.status,
                   message=_("Your card was not saved. Please try again or use another "
                             "card.")), 402


@bp.get("/match/<code>")
def pledge_page(code):
    pledge = matching.pledge_by_code(db.session, code)
    # A withdrawn or lapsed pledge keeps its page, so the pledger and friends read why.
    if pledge is None or pledge.status not in (PLEDGE_ACTIVE, PLEDGE_CLOSED, PLEDGE_WITHDRAWN,
                                               PLEDGE_LAPSED):
        abort(404)
    appeal = db.session.get(Appeal, pledge.appeal_id)
    if appeal is None or appeal.status == DRAFT:
        abort(404)
    share_url = public_url("appeals.show", slug=appeal.slug, ref=pledge.code)
    return render_template("donations/pledge.html", pledge=pledge, appeal=appeal,
                           text=appeals.text_for(db.session, appeal, str(get_locale())),
                           share_url=share_url,
                           waiting=card_pledges.waits_for_pledger(db.session, pledge.id))


