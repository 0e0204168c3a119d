"""Share links: `/r/<code>` counts a visit and carries the code to the
appeal page; `/partners/<token>` is a co-signer's private, read-only page
with what its link brought."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_limiter.util import get_remote_address

from ..extensions import db, limiter
from ..payments.models import utcnow
from ..referrals import carry
from ..referrals import services as referrals
from ..referrals.share import share_box
from . import referral_stats, services
from .models import DRAFT, Appeal, Cosigner

bp = Blueprint("referrals", __name__)


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _public_appeal(link) -> Appeal:
    appeal = db.session.get(Appeal, link.appeal_id) if link is not None else None
    if appeal is None or appeal.status == DRAFT:
        abort(404)
    return appeal


@bp.get("/r/<code>")
@limiter.limit(lambda: current_app.config.get("REFERRAL_VISIT_LIMIT", "60 per minute"))
def visit(code):
    link = referrals.by_code(db.session, code)
    appeal = _public_appeal(link)
    if request.method == "GET":  # a HEAD (a link preview) is not a visit
        day = utcnow().date()
        visitor = referrals.visitor_key(current_app.config["SECRET_KEY"], day,
                                        get_remote_address() or "",
                                        request.headers.get("User-Agent", ""))
        referrals.record_visit(db.session, link, day, visitor)
        db.session.commit()
    lang = request.args.get("lang")
    values = {"lang": lang} if lang in current_app.config["LANGUAGES"] else {}
    response = redirect(url_for("appeals.show", slug=appeal.slug, **values), 302)
    carry.remember(response, link)
    return response


@bp.get("/partners/<token>")
def cosigner_report(token):
    link = referrals.by_report_token(db.session, token)
    appeal = _public_appeal(link)
    cosigner = db.session.get(Cosigner, link.cosigner_id) if link.cosigner_id else None
    if cosigner is None:
        abort(404)
    locale = str(get_locale())
    text = services.text_for(db.session, appeal, locale)
    return render_template("appeals/cosigner_report.html", appeal=appeal, text=text,
                           cosigner=cosigner,
                           figures=referral_stats.link_figures(db.session, link),
                           share=share_box(link.code, text.title, locale))
