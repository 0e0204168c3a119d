from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..payments.models import utcnow

COSIGNER, SIGNER, DONOR = "cosigner", "signer", "donor"


class ReferralLink(db.Model):
    """A personal share link to one appeal. A co-signer's link also has a
    private report page (`report_token`). A person's link (signer or donor)
    is one per appeal and email: signing and then giving keeps one link;
    only the email's hash is kept here, to find it again."""

    __tablename__ = "referral_links"
    __table_args__ = (
        CheckConstraint("kind IN ('cosigner', 'signer', 'donor')", name="kind_known"),
        UniqueConstraint("appeal_id", "email_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    appeal_id: Mapped[int] = mapped_column(
        ForeignKey("appeals.id", ondelete="CASCADE"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    cosigner_id: Mapped[int | None] = mapped_column(
        ForeignKey("cosigners.id", ondelete="SET NULL"), unique=True)
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL"))
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    report_token: Mapped[str | None] = mapped_column(String(48), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)


class ReferralVisit(db.Model):
    """One visitor through one link on one day. `visitor` is a keyed hash
    (HMAC with the app's secret) of the day and the browser's address and
    user agent: it counts a reload once and names no one."""

    __tablename__ = "referral_visits"
    __table_args__ = (UniqueConstraint("link_id", "day", "visitor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_id: Mapped[int] = mapped_column(
        ForeignKey("referral_links.id", ondelete="CASCADE"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    visitor: Mapped[str] = mapped_column(String(64), nullable=False)
