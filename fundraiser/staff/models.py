from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..payments.models import utcnow

ROLES = ("admin", "finance", "editor", "viewer")


class StaffUser(db.Model):
    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'finance', 'editor', 'viewer')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
