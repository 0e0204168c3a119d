"""Magic links into the donor portal. Only a token's SHA-256 is stored; the
row that was opened is also the donor's session on the server, so ending
it (signing out, erasing the donor's data) ends the session everywhere.
The session cookie carries a second random token (its hash stored here),
never the row id, which SQLite may hand out again after a delete."""

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..payments.models import utcnow


class PortalLink(db.Model):
    __tablename__ = "portal_links"
    __table_args__ = (Index("ix_portal_links_email_created", "email", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # As typed, trimmed and lower-cased; compared with lower(donations.email).
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    # Opened (the link is used up) and the session it started, until when.
    used_at: Mapped[datetime | None]
    session_ends_at: Mapped[datetime | None]
    session_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
