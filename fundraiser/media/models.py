from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..payments.models import utcnow


class StoredImage(db.Model):
    """One image, stored once: the digest of its bytes names it, so an
    address never changes meaning and can be cached for good."""

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)  # sha256 hex
    content_type: Mapped[str] = mapped_column(String(40), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]

    def __repr__(self):
        return f"<StoredImage {self.digest[:12]}.{self.extension}>"


EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/svg+xml": "svg"}
