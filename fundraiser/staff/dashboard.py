"""The dashboard: figures per currency (or for one appeal), recent gifts,
the JSON the page polls, and the SVG charts."""

from __future__ import annotations

from flask import Response, abort, jsonify, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from ..appeals.models import Appeal
from ..donations.models import Donation
from ..extensions import db
from ..matching import figures as match_figures
from ..urls import query_int
from . import charts, recurring_stats, stats
from .auth import staff_view
from .blueprint import _money, bp
from .donations import status_label
from .models import VIEW


def _appeal_arg() -> Appeal | None:
    raw = request.args.get("appeal", "")
    if not raw:
        return None
    appeal_id = query_int(raw)
    appeal = db.session.get(Appeal, appeal_id) if appeal_id else None
    if appeal is None:
        abort(404)
    return appeal


def _figures(appeal: Appeal | None) -> list[stats.Figures]:
    if appeal is not None:
        return [stats.figures(db.session, currency=appeal.currency,
                              goal_minor=appeal.goal_minor, appeal_id=appeal.id,
                              matched_minor=match_figures.matched_minor(db.session, appeal))]
    return stats.overall_figures(db.session, lambda a: match_figures.matched_minor(db.session, a))


@bp.get("/")
@staff_view(VIEW)
def dashboard():
    appeal = _appeal_arg()
    span = "hour" if request.args.get("span") == "hour" else "day"
    currency = appeal.currency if appeal else None
    timeline = stats.gifts_over_time(db.session, span=span,
                                     appeal_id=appeal.id if appeal else None,
                                     currency=currency)
    figures = _figures(appeal)
    return render_template(
        "staff/dashboard.html", appeal=appeal, span=span, figures=figures,
        recent=stats.recent_gifts(db.session, appeal.id if appeal else None),
        appeals=db.session.execute(select(Appeal.id, Appeal.title).order_by(Appeal.title)).all(),
        timeline=timeline,
        by_currency=[(f.currency, f.gift_count, f.raised_minor, f.currency) for f in figures
                     if f.gift_count],
        by_source=stats.gifts_by(db.session, "source", appeal.id if appeal else None),
        by_paid=stats.by_paid_currency(db.session, appeal.id) if appeal else [],
        recurring=recurring_stats.recurring_figures(db.session, appeal.id if appeal else None),
    )


def _gift_json(d: Donation) -> dict:
    return {"id": d.id, "name": d.donor_name, "appeal": d.appeal.title,
            "amount": _money(d.amount_minor, d.currency), "status": d.payment.status,
            "status_label": status_label(d.payment.status),
            "at": format_datetime(d.created_at, "short"),
            "url": url_for("staff.donation", donation_id=d.id)}


@bp.get("/api/recent")
@staff_view(VIEW)
def recent_json():
    appeal = _appeal_arg()
    figures = _figures(appeal)
    return jsonify(
        figures=[{"currency": f.currency, "raised": _money(f.raised_minor, f.currency),
                  "matched": _money(f.matched_minor, f.currency),
                  "total": _money(f.total_minor, f.currency), "donors": f.donor_count,
                  "gifts": f.gift_count, "average": _money(f.average_minor, f.currency),
                  "median": _money(f.median_minor, f.currency), "percent": f.percent,
                  "raised_minor": f.raised_minor}
                 for f in figures],
        gifts=[_gift_json(d) for d in
               stats.recent_gifts(db.session, appeal.id if appeal else None)],
        recurring=[{"currency": r.currency,
                    "recurring-month": _money(r.per_month_minor, r.currency),
                    "monthly-donors": r.monthly_donors, "yearly-donors": r.yearly_donors,
                    "canceled-month": r.canceled_this_month}
                   for r in recurring_stats.recurring_figures(
                       db.session, appeal.id if appeal else None)],
    )


def _svg_response(svg: bytes) -> Response:
    response = Response(svg, mimetype="image/svg+xml")
    # The SVG carries its own <style> (pygal's) and no script: allow only that.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'none'")
    return response


@bp.get("/charts/<name>.svg")
@staff_view(VIEW)
def chart(name):
    appeal = _appeal_arg()
    appeal_id = appeal.id if appeal else None
    if name == "time":
        span = "hour" if request.args.get("span") == "hour" else "day"
        rows = stats.gifts_over_time(db.session, span=span, appeal_id=appeal_id,
                                     currency=appeal.currency if appeal else None)
        labels = [label[5:] for label, _n, _t in rows]
        series = {_("Gifts"): [n for _l, n, _t in rows]}
        if appeal is not None:
            series = {_("Raised (%(currency)s)", currency=appeal.currency):
                      [charts.major_units(t, appeal.currency) for _l, _n, t in rows]}
        title = _("Gifts per hour") if span == "hour" else _("Gifts per day")
        return _svg_response(charts.svg_chart("bar", title, labels, series))
    if name in ("currency", "source"):
        rows = stats.gifts_by(db.session, name, appeal_id)
        labels = [f"{k} ({cur})" if name == "source" and appeal is None else k
                  for k, _n, _t, cur in rows]
        title = _("Gifts by currency") if name == "currency" else _("Gifts by source")
        return _svg_response(charts.svg_chart("hbar", title, labels,
                                              {_("Gifts"): [n for _k, n, _t, _c in rows]}))
    abort(404)
