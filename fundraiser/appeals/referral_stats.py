"""What each share link of an appeal brought: visits, confirmed signatures,
gifts that went through and their money net of refunds, and conversion
(gifts per visit). The staff page, its CSV and each co-signer's private page
read the same rows."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import func, select

from ..donations.models import Donation
from ..payments import states
from ..payments.models import Payment
from ..referrals import services as referrals
from ..referrals.models import COSIGNER, ReferralLink, ReferralVisit
from .models import Appeal, Cosigner, Signature


@dataclass(frozen=True)
class LinkFigures:
    link: ReferralLink
    label: str  # the co-signer's or person's name ("" once removed or erased)
    visits: int
    signatures: int
    gifts: int
    money_minor: int

    @property
    def conversion(self) -> Fraction | None:
        """Gifts per visit; None before the first visit."""
        return Fraction(self.gifts, self.visits) if self.visits else None


def ensure_cosigner_links(session, appeal: Appeal) -> None:
    """Every co-signer of the appeal has its link (made on first need)."""
    have = set(session.scalars(select(ReferralLink.cosigner_id).where(
        ReferralLink.appeal_id == appeal.id, ReferralLink.cosigner_id.is_not(None))))
    for cosigner in appeal.cosigners:
        if cosigner.id not in have:
            referrals.cosigner_link(session, appeal.id, cosigner.id)


def _counts(session, statement) -> dict[int, tuple]:
    return {row[0]: tuple(row[1:]) for row in session.execute(statement)}


def figures(session, appeal_id: int, link_ids: list[int] | None = None) -> list[LinkFigures]:
    """One row per link of the appeal (or only `link_ids`), co-signers first
    in their order, then people by money brought."""
    links = select(ReferralLink).where(ReferralLink.appeal_id == appeal_id)
    if link_ids is not None:
        links = links.where(ReferralLink.id.in_(link_ids))
    rows = list(session.scalars(links))
    ids = [link.id for link in rows]
    if not ids:
        return []
    visits = _counts(session, select(ReferralVisit.link_id, func.count())
                     .where(ReferralVisit.link_id.in_(ids)).group_by(ReferralVisit.link_id))
    signed = _counts(session, select(Signature.referral_link_id, func.count())
                     .where(Signature.referral_link_id.in_(ids),
                            Signature.confirmed_at.is_not(None))
                     .group_by(Signature.referral_link_id))
    gifts = _counts(session, select(
        Donation.referral_link_id, func.count(),
        func.coalesce(func.sum(Payment.amount_minor - Payment.refunded_minor), 0))
        .join(Payment, Payment.id == Donation.payment_id)
        .where(Donation.referral_link_id.in_(ids), Payment.status.in_(states.COUNTED))
        .group_by(Donation.referral_link_id))
    labels = _labels(session, rows)
    out = [LinkFigures(link=link, label=labels.get(link.id, ""),
                       visits=int(visits.get(link.id, (0,))[0]),
                       signatures=int(signed.get(link.id, (0,))[0]),
                       gifts=int(gifts.get(link.id, (0, 0))[0]),
                       money_minor=int(gifts.get(link.id, (0, 0))[1]))
           for link in rows]
    positions = dict(session.execute(select(Cosigner.id, Cosigner.position).where(
        Cosigner.appeal_id == appeal_id)).all())
    out.sort(key=lambda f: (f.link.kind != COSIGNER,
                            positions.get(f.link.cosigner_id, 0),
                            -f.money_minor, -f.visits, f.link.id))
    return out


def _labels(session, links: list[ReferralLink]) -> dict[int, str]:
    cosigners = dict(session.execute(select(Cosigner.id, Cosigner.name).where(
        Cosigner.id.in_([x.cosigner_id for x in links if x.cosigner_id]))).all())
    signers = dict(session.execute(select(Signature.id, Signature.name).where(
        Signature.id.in_([x.signature_id for x in links if x.signature_id]))).all())
    donors = {d.id: ("" if d.erased_at else d.donor_name) for d in session.scalars(
        select(Donation).where(Donation.id.in_([x.donation_id for x in links
                                                if x.donation_id])))}
    labels = {}
    for link in links:
        labels[link.id] = (cosigners.get(link.cosigner_id) or signers.get(link.signature_id)
                           or donors.get(link.donation_id) or "")
    return labels


def link_figures(session, link: ReferralLink) -> LinkFigures:
    return figures(session, link.appeal_id, [link.id])[0]


def has_given(session, appeal_id: int, email: str) -> bool:
    """Has this email a gift to this appeal that went through?"""
    return session.scalar(
        select(func.count()).select_from(Donation)
        .join(Payment, Payment.id == Donation.payment_id)
        .where(Donation.appeal_id == appeal_id,
               Donation.email == (email or "").strip().lower(),
               Payment.status.in_(states.COUNTED))) > 0
