"""The appeal's share links for staff: what each link (every co-signer's,
and each signer's or donor's that brought something) brought, on screen and
as CSV."""

from __future__ import annotations

from datetime import datetime

from flask import render_template
from flask_login import current_user

from ..appeals import referral_stats
from ..appeals.models import Appeal
from ..extensions import db
from ..money import Money
from ..referrals.share import share_link
from ..urls import public_url
from . import services
from .auth import client_ip, staff_view
from .blueprint import bp, commit
from .csv_export import _stream_csv
from .models import EXPORT, VIEW

KIND_WORDS = {"cosigner": "co-signer", "signer": "signer", "donor": "donor"}


def _rows(appeal):
    referral_stats.ensure_cosigner_links(db.session, appeal)
    db.session.commit()  # links made for co-signers added before links existed
    # Every current co-signer; anyone else (a removed co-signer, a signer,
    # a donor) once their link brought something.
    return [f for f in referral_stats.figures(db.session, appeal.id)
            if f.link.cosigner_id is not None or f.visits or f.signatures or f.gifts]


@bp.get("/appeals/<int:appeal_id>/links")
@staff_view(VIEW)
def referral_links(appeal_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    return render_template("staff/referrals.html", appeal=appeal, rows=_rows(appeal),
                           share_link=share_link)


def _conversion(value) -> str:
    return "" if value is None else f"{float(value) * 100:.1f}%"


@bp.get("/appeals/<int:appeal_id>/links.csv")
@staff_view(EXPORT)
def referral_links_csv(appeal_id):
    appeal = db.get_or_404(Appeal, appeal_id)
    rows = _rows(appeal)
    services.audit(db.session, current_user, "export.referral_links", "appeal", appeal.id,
                   ip=client_ip(), slug=appeal.slug)
    commit(public=False)
    header = ["kind", "name", "code", "link", "visits", "signatures", "gifts", "currency",
              "money", "money_minor", "conversion"]

    def lines():
        for f in rows:
            yield [KIND_WORDS[f.link.kind], f.label, f.link.code,
                   public_url("referrals.visit", code=f.link.code), f.visits, f.signatures,
                   f.gifts, appeal.currency,
                   format(Money(f.money_minor, appeal.currency).as_decimal(), "f"),
                   f.money_minor, _conversion(f.conversion)]

    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return _stream_csv(header, lines(), f"links-{appeal.slug}-{stamp}.csv")
