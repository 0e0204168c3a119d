from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..media.models import StoredImage
from ..money import Money
from ..payments.models import utcnow

DRAFT, PUBLISHED, CLOSED = "draft", "published", "closed"
RTL_LANGUAGES = ("he", "ar", "fa", "ur", "yi")


class Appeal(db.Model):
    __tablename__ = "appeals"
    __table_args__ = (
        CheckConstraint("goal_minor > 0", name="goal_positive"),
        CheckConstraint("status IN ('draft', 'published', 'closed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str] = mapped_column(String(300), default="", nullable=False)
    # The language the appeal is written in; the page marks it up with lang/dir.
    language: Mapped[str] = mapped_column(String(8), default="en", nullable=False)
    story_md: Mapped[str] = mapped_column(Text, default="", nullable=False)
    story_html: Mapped[str] = mapped_column(Text, default="", nullable=False)  # sanitised
    thank_you_md: Mapped[str] = mapped_column(Text, default="", nullable=False)
    thank_you_html: Mapped[str] = mapped_column(Text, default="", nullable=False)
    hero_image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"))
    hero_alt: Mapped[str] = mapped_column(String(300), default="", nullable=False)
    hero_credit: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    goal_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # Minor units, comma separated, e.g. "2500,5000,10000".
    suggested_amounts: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT, nullable=False)
    ends_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    published_at: Mapped[datetime | None]
    # Sign-on: the appeal asks for signatures, with an optional goal.
    asks_signatures: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False,
                                                  server_default="0")
    signature_goal: Mapped[int | None] = mapped_column(Integer)
    # Shown beside the total, converted at today's rates ("about $12,400").
    second_currency: Mapped[str | None] = mapped_column(String(3))

    hero_image: Mapped[StoredImage | None] = relationship(lazy="joined")
    cosigners: Mapped[list["Cosigner"]] = relationship(
        back_populates="appeal", order_by="Cosigner.position", cascade="all, delete-orphan"
    )
    translations: Mapped[list["AppealTranslation"]] = relationship(
        back_populates="appeal", order_by="AppealTranslation.locale",
        cascade="all, delete-orphan"
    )
    other_currencies: Mapped[list["AppealCurrency"]] = relationship(
        back_populates="appeal", order_by="AppealCurrency.position",
        cascade="all, delete-orphan"
    )

    @property
    def goal(self) -> Money:
        return Money(self.goal_minor, self.currency)

    @property
    def suggested(self) -> list[Money]:
        return [Money(int(x), self.currency) for x in self.suggested_amounts.split(",") if x]

    @property
    def accepted_currencies(self) -> list[str]:
        """The appeal's own currency first, then the others it takes."""
        return [self.currency] + [c.currency for c in self.other_currencies
                                  if c.currency != self.currency]

    def suggested_in(self, currency: str) -> list[Money]:
        if currency == self.currency:
            return self.suggested
        for other in self.other_currencies:
            if other.currency == currency:
                return other.suggested
        return []

    @property
    def is_rtl(self) -> bool:
        return self.language in RTL_LANGUAGES

    def accepts_gifts(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.status == PUBLISHED and (self.ends_at is None or self.ends_at > now)

    def __repr__(self):
        return f"<Appeal {self.slug}>"


class AppealCurrency(db.Model):
    """Another currency an appeal takes gifts in, with its own suggested
    amounts (₪50/₪100/₪180 beside $18/$36/$100). Such gifts count in the
    appeal's currency at the rate stored with each gift."""

    __tablename__ = "appeal_currencies"
    __table_args__ = (UniqueConstraint("appeal_id", "currency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(
        ForeignKey("appeals.id", ondelete="CASCADE"), nullable=False
    )
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Minor units, comma separated, as on Appeal.
    suggested_amounts: Mapped[str] = mapped_column(String(200), default="", nullable=False)

    appeal: Mapped[Appeal] = relationship(back_populates="other_currencies")

    @property
    def suggested(self) -> list[Money]:
        return [Money(int(x), self.currency) for x in self.suggested_amounts.split(",") if x]


class Cosigner(db.Model):
    """An organisation that co-signs an appeal."""

    __tablename__ = "cosigners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(
        ForeignKey("appeals.id", ondelete="CASCADE"), index=True, nullable=False
    )
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    country: Mapped[str] = mapped_column(String(80), default="", nullable=False)
    url: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    logo_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"))

    appeal: Mapped[Appeal] = relationship(back_populates="cosigners")
    logo: Mapped[StoredImage | None] = relationship(lazy="joined")


class AppealTranslation(db.Model):
    """An appeal's words in another interface language. Money, dates, the
    image and co-signers stay the appeal's own; only the text is here."""

    __tablename__ = "appeal_translations"
    # One per appeal and locale; the unique index also serves lookups by appeal.
    __table_args__ = (UniqueConstraint("appeal_id", "locale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(
        ForeignKey("appeals.id", ondelete="CASCADE"), nullable=False
    )
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str] = mapped_column(String(300), default="", nullable=False)
    story_md: Mapped[str] = mapped_column(Text, default="", nullable=False)
    story_html: Mapped[str] = mapped_column(Text, default="", nullable=False)  # sanitised
    thank_you_md: Mapped[str] = mapped_column(Text, default="", nullable=False)
    thank_you_html: Mapped[str] = mapped_column(Text, default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    appeal: Mapped[Appeal] = relationship(back_populates="translations")

    @property
    def language(self) -> str:
        return self.locale

    @property
    def is_rtl(self) -> bool:
        return self.locale in RTL_LANGUAGES


class Signature(db.Model):
    """One person's signature on an appeal: one row per appeal and email
    (signing again merges into it). It counts once `confirmed_at` is set,
    by the emailed link; only the link's hash is kept, until it is used."""

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("appeal_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(
        ForeignKey("appeals.id", ondelete="CASCADE"), nullable=False
    )
    email: Mapped[str] = mapped_column(String(254), nullable=False)  # lower case
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    country: Mapped[str] = mapped_column(String(80), default="", nullable=False)
    comment: Mapped[str] = mapped_column(Text, default="", nullable=False)
    consent_contact: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    locale: Mapped[str] = mapped_column(String(8), default="en", nullable=False)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(index=True)
    # The share link (referrals.ReferralLink) this signer came through, set
    # when the signature is made; the first link wins.
    referral_link_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # When the link now valid was sent: it stops working SIGN_LINK_VALID_DAYS later.
    link_sent_at: Mapped[datetime | None]
    # Removed by staff (abuse): no longer counted or shown, and the address
    # cannot sign this appeal again.
    removed_at: Mapped[datetime | None]


REQUEST_STATES = ("unconfirmed", "waiting", "approved", "declined")


class CosignRequest(db.Model):
    """An organisation asking to co-sign an appeal. Its contact confirms it
    by an emailed link (unconfirmed → waiting); staff approve it (a Cosigner
    row is made, and only then is it shown) or decline it with a reason.
    One per appeal and email and one per appeal and name: asking again merges."""

    __tablename__ = "cosign_requests"
    __table_args__ = (
        UniqueConstraint("appeal_id", "email", name="uq_cosign_requests_appeal_email"),
        UniqueConstraint("appeal_id", "name_key", name="uq_cosign_requests_appeal_name"),
        CheckConstraint("status IN ('unconfirmed', 'waiting', 'approved', 'declined')",
                        name="status_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(
        ForeignKey("appeals.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # The name folded (case, spacing) for the one-request-per-name rule.
    name_key: Mapped[str] = mapped_column(String(200), nullable=False)
    country: Mapped[str] = mapped_column(String(80), default="", nullable=False)
    url: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)  # lower case
    logo_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"))
    consent_contact: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    locale: Mapped[str] = mapped_column(String(8), default="en", nullable=False)
    status: Mapped[str] = mapped_column(String(12), default="unconfirmed", nullable=False,
                                        index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    confirmed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str] = mapped_column(String(254), default="", nullable=False)
    decline_reason: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    cosigner_id: Mapped[int | None] = mapped_column(
        ForeignKey("cosigners.id", ondelete="SET NULL"))

    logo: Mapped[StoredImage | None] = relationship(lazy="joined")
    appeal: Mapped[Appeal] = relationship()
