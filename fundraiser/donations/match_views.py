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
from ..matching import rules
from ..matching import services as matching
from ..matching.models import (
    CARD_SAVED,
    PLEDGE_ACTIVE,
    PLEDGE_CLOSED,
    PLEDGE_PENDING,
    PLEDGE_WITHDRAWN,
    MatchPledge,
    MatchPool,
)
from ..money import Money, MoneyError
from ..payments import states
from ..payments.gateway import GatewayError
from ..payments.models import utcnow
from . import services
from .forms import PledgeForm
from .matching_hooks import gift_facts

bp = Blueprint("matching", __name__)


def _money(minor, currency):
    return Money(int(minor), currency).format(str(get_locale()))


def source_name(step_or_source) -> str:
    """Who gives the match, as a donor reads it."""
    source = getattr(step_or_source, "source", step_or_source)
    if source.kind == "pledge":
        pledge = db.session.get(MatchPledge, source.id)
        return pledge.pledger_name if pledge else _("a friend")
    pool = db.session.get(MatchPool, source.id)
    return matching.sponsor_label(pool) or _("an anonymous sponsor") if pool else ""


def any_match_left(appeal_id: int, pledge_code: str | None = None) -> bool:
    now = utcnow()
    if any(p.remaining_minor > 0 and rules.window_open(p.starts_at, p.ends_at, now)
           for p in matching.pools_for(db.session, appeal_id)):
        return True
    pledge = matching.pledge_by_code(db.session, pledge_code)
    return bool(pledge and pledge.appeal_id == appeal_id and pledge.status == PLEDGE_ACTIVE
                and pledge.remaining_minor > 0)


def has_matching(appeal_id: int, pledge_code: str | None = None) -> bool:
    return bool(matching.pools_for(db.session, appeal_id)) or \
        matching.pledge_by_code(db.session, pledge_code) is not None


def preview_message(appeal_id: int, preview: matching.Preview,
                    pledge_code: str | None = None) -> str:
    """What a donor is told before paying. Empty when the appeal has no matching."""
    gift = _money(preview.gift_minor, preview.currency)
    if preview.matched_minor:
        if len(preview.steps) == 1:
            who = source_name(preview.steps[0])
        else:
            who = ", ".join(f"{source_name(s)} ({_money(s.take_minor, preview.currency)})"
                            for s in preview.steps)
        if preview.fully_matched:
            return _("Your gift of %(gift)s will be matched with %(match)s by %(who)s.",
                     gift=gift, match=_money(preview.matched_minor, preview.currency), who=who)
        return _("Matching money is running out: your gift of %(gift)s will be matched "
                 "with %(match)s by %(who)s, not in full.",
                 gift=gift, match=_money(preview.matched_minor, preview.currency), who=who)
    if not has_matching(appeal_id, pledge_code):
        return ""
    if any_match_left(appeal_id, pledge_code):
        return _("This gift does not qualify for matching: see the matching rules.")
    return _("All the matching money has been used, so this gift will not be matched.")


def appeal_preview(appeal, amount: Money, pledge_code: str | None, email: str = ""):
    gift = rules.Gift(amount_minor=amount.minor, currency=amount.currency, at=utcnow(),
                      email=email, is_first_time=True)
    return matching.preview(db.session, appeal_id=appeal.id, gift=gift,
                            pledge_code=pledge_code)


def donation_preview(donation):
    """The preview for a gift not paid yet, with what we know of its donor."""
    gift = gift_facts(db.session, donation, donation.amount_minor, utcnow())
    return matching.preview(db.session, appeal_id=donation.appeal_id, gift=gift,
                            pledge_code=donation.source or None)


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
    try:
        amount = Money.parse(request.args.get("amount", "")[:20], appeal.currency)
    except MoneyError:
        return jsonify(error="amount", message=""), 400
    ref = request.args.get("ref", "")[:16] or None
    return _preview_response(appeal.id, appeal_preview(appeal, amount, ref), ref)


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
    entries = matching.ledger_rows(db.session, appeal.id, limit=100)
    names = {("pool", p.id): matching.sponsor_label(p) or _("Anonymous sponsor") for p in pools}
    names.update({("pledge", p.id): p.pledger_name
                  for p in matching.pledges_for(db.session, appeal.id, active_only=False)})
    return render_template("appeals/matching.html", appeal=appeal,
                           text=appeals.text_for(db.session, appeal, str(get_locale())),
                           pools=pools, pledges=pledges, entries=entries, names=names, now=utcnow(),
                           matched_minor=matching.matched_minor(db.session, appeal))


def pledge_form(donation, **kwargs):
    cfg = current_app.config
    return PledgeForm(currency=donation.currency, min_major=cfg["DONATION_MIN_MAJOR"],
                      max_major=cfg["DONATION_MAX_MAJOR"], **kwargs)


def can_pledge(donation) -> bool:
    return (donation.payment.status in states.COUNTED and donation.appeal.accepts_gifts()
            and not matching.funds_a_pledge(db.session, donation.payment_id))


@bp.post("/give/<public_id>/pledge")
def pledge(public_id):
    donation = services.by_public_id(db.session, public_id)
    if donation is None:
        abort(404)
    if not can_pledge(donation):
        return redirect(url_for("donations.thanks", public_id=public_id), code=303)
    form = pledge_form(donation)
    if form.validate_on_submit():
        name = form.display_name.data.strip()
        if form.mode.data == CARD_SAVED:
            new = services.start_card_pledge(db.session, donation, form.money, name)
            pledge_id, code, reference = new.id, new.code, f"pledge-{new.code}"
            # Committed before the gateway is called: no lock held during the call.
            db.session.commit()
            try:
                setup = current_app.extensions["fundraiser.gateway"].start_card_setup(
                    reference=reference, email=donation.email, name=donation.donor_name)
            except GatewayError as exc:
                form.mode.errors = [_(exc.user_message)]
            else:
                matching.record_card_setup(db.session, pledge_id, setup)
                db.session.commit()
                return redirect(url_for("matching.pledge_card", code=code), code=303)
        else:
            funding, _pledge = services.start_pledge(
                db.session, donation, form.money, name, locale=str(get_locale()))
            db.session.commit()
            return redirect(url_for("donations.pay", public_id=funding.public_id), code=303)
    from .views import render_thanks
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
    return render_template("donations/pledge_card.html", pledge=pledge, appeal=appeal,
                           text=appeals.text_for(db.session, appeal, str(get_locale())),
                           stripe_js_url=gateway.js_url, stripe_key=gateway.publishable_key)


@bp.post("/match/<code>/card/confirm")
def pledge_card_confirm(code):
    """The browser says the card is saved; ask the gateway what is true."""
    pledge = _pending_card_pledge_or_404(code)
    pledge_id, setup_id = pledge.id, pledge.setup_id
    db.session.rollback()  # no transaction open during the gateway call
    try:
        setup = current_app.extensions["fundraiser.gateway"].finish_card_setup(setup_id)
    except GatewayError as exc:
        return jsonify(status="error", message=_(exc.user_message)), 502
    matching.record_card_setup(db.session, pledge_id, setup)
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
    # A withdrawn pledge keeps its page, so the pledger and friends read why.
    if pledge is None or pledge.status not in (PLEDGE_ACTIVE, PLEDGE_CLOSED, PLEDGE_WITHDRAWN):
        abort(404)
    appeal = db.session.get(Appeal, pledge.appeal_id)
    if appeal is None or appeal.status == DRAFT:
        abort(404)
    share_url = url_for("appeals.show", slug=appeal.slug, ref=pledge.code, _external=True)
    return render_template("donations/pledge.html", pledge=pledge, appeal=appeal,
                           text=appeals.text_for(db.session, appeal, str(get_locale())),
                           share_url=share_url)


def appeal_match_box(appeal, ref: str | None, amount_text: str) -> dict | None:
    """What the appeal page shows about matching: the open pools, the friend
    whose link brought the donor, and the preview for the chosen amount."""
    now = utcnow()
    pools = [p for p in matching.pools_for(db.session, appeal.id)
             if rules.window_open(p.starts_at, p.ends_at, now)]
    pledge = matching.pledge_by_code(db.session, ref)
    if pledge is not None and (pledge.appeal_id != appeal.id or pledge.status != PLEDGE_ACTIVE):
        pledge = None
    if not pools and pledge is None:
        return None
    message = ""
    try:
        amount = Money.parse(amount_text, appeal.currency)
    except MoneyError:
        amount = None
    if amount is not None and amount.minor > 0:
        message = preview_message(appeal.id, appeal_preview(appeal, amount, ref), ref)
    return {"pools": pools, "pledge": pledge, "message": message,
            "preview_url": url_for("matching.preview", slug=appeal.slug)}
