"""Donors: the searchable list, one donor's gifts, the CSV export."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import func

from ..donations import subscriptions
from ..donations.models import Donation
from ..extensions import db
from . import reports, services
from .auth import client_ip, staff_view
from .blueprint import _page_arg, bp, commit
from .csv_export import _stream_csv
from .models import EXPORT, VIEW

# -- donors ---------------------------------------------------------------------

@bp.get("/donors")
@staff_view(VIEW)
def donors():
    q = (request.args.get("q") or "").strip()[:100]
    rows, total, page, pages = reports.donors_page(db.session, q, _page_arg())
    return render_template("staff/donors.html", rows=rows, total=total, page=page,
                           pages=pages, q=q)


@bp.get("/donors/gifts")
@staff_view(VIEW)
def donor():
    email = (request.args.get("email") or "").strip().lower()[:254]
    gifts = reports.donor_gifts(db.session, email) if email else []
    if not gifts:
        abort(404)
    totals = db.session.execute(reports.donors_query(db.session).where(
        func.lower(Donation.email) == email)).all()
    return render_template("staff/donor.html", email=email, gifts=gifts, totals=totals,
                           monthly=subscriptions.for_email(db.session, email),
                           monthly_label=subscriptions.status_label)


@bp.get("/donors.csv")
@staff_view(EXPORT)
def donors_csv():
    q = (request.args.get("q") or "").strip()[:100]
    services.audit(db.session, current_user, "export.donors", ip=client_ip(), q=q)
    commit(public=False)

    def rows():
        offset = 0
        query = reports.donors_query(db.session, q).order_by("email", Donation.currency)
        while True:
            chunk = db.session.execute(query.offset(offset).limit(1000)).all()
            db.session.rollback()  # no transaction held while streaming
            if not chunk:
                return
            for r in chunk:
                yield (r.email, r.name, r.currency, r.gifts, int(r.lifetime or 0),
                       r.first_at, r.last_at)
            offset += len(chunk)

    return _stream_csv(["email", "name", "currency", "gifts", "lifetime_minor", "first_gift",
                        "last_gift"], rows(), "donors.csv")
