"""Where the counters live when there is no Redis: the database, which every
app process and host already shares."""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class AbuseHit(db.Model):
    """One weighted attempt or decline against one subject (a keyed hash of an
    address, an email or a card). Old rows are pruned as new ones arrive."""

    __tablename__ = "abuse_hits"
    __table_args__ = (Index("ix_abuse_hits_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    key: Mapped[str] = mapped_column(String(80), nullable=False)
    at: Mapped[datetime] = mapped_column(nullable=False)
    cost: Mapped[int] = mapped_column(Integer, nullable=False)


class AbuseBlock(db.Model):
    """A subject told to wait ("slow") or blocked, until a time."""

    __tablename__ = "abuse_blocks"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    until: Mapped[datetime] = mapped_column(nullable=False)


class CardBreaker(db.Model):
    """An appeal whose card gifts are paused because declines passed the
    threshold. One row per appeal, kept after a reset for the record."""

    __tablename__ = "card_breakers"

    appeal_id: Mapped[int] = mapped_column(
        ForeignKey("appeals.id", ondelete="CASCADE"), primary_key=True)
    tripped_at: Mapped[datetime] = mapped_column(nullable=False)
    resets_at: Mapped[datetime] = mapped_column(nullable=False)
    declines: Mapped[int] = mapped_column(Integer, nullable=False)
    # True while tripped; a reset (by hand, or after the cool-down) clears it.
    paused: Mapped[bool] = mapped_column(nullable=False, default=True)
    trips: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    reset_at: Mapped[datetime | None]
    reset_by: Mapped[str | None] = mapped_column(String(254))
