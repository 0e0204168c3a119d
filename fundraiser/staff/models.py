"""Staff accounts, what each role may do, the append-only audit log, and the
staff-owned records of refunds and offline gifts."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..donations.models import Donation
from ..extensions import db
from ..payments.models import utcnow

ROLES = ("admin", "finance", "editor", "viewer")

# What each role may do. The server checks these on every view and action;
# templates only use them to hide buttons a person could not use anyway.
VIEW = "view"                  # dashboard, donations, donors (read only)
REFUND = "refund"
OFFLINE_GIFT = "offline_gift"
EXPORT = "export"
EDIT_APPEALS = "edit_appeals"
MANAGE_USERS = "manage_users"
VIEW_AUDIT = "view_audit"
RESUME_CARD_GIFTS = "resume_card_gifts"  # lift the card-testing breaker's pause
MANAGE_JOBS = "manage_jobs"    # the job queue: see failed jobs, retry them
EDIT_RATES = "edit_rates"      # the exchange-rate table: set a rate, import the ECB's file

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({VIEW, REFUND, OFFLINE_GIFT, EXPORT, EDIT_APPEALS, MANAGE_USERS,
                        VIEW_AUDIT, RESUME_CARD_GIFTS, MANAGE_JOBS, EDIT_RATES}),
    "finance": frozenset({VIEW, REFUND, OFFLINE_GIFT, EXPORT, EDIT_RATES}),
    "editor": frozenset({VIEW, EDIT_APPEALS}),
    "viewer": frozenset({VIEW}),
}

OFFLINE_METHODS = ("cheque", "bank_transfer", "cash")


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
    last_login_at: Mapped[datetime | None]
    # Copied into each of the person's sessions (staff_sessions): bumping it
    # ends them all (new password, "log out everywhere", role change).
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1",
                                                 nullable=False)
    # One-time set-password link: only its SHA-256 is stored.
    set_password_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    set_password_expires_at: Mapped[datetime | None]

    # The token of the session this request runs in (set at login and by the
    # user loader, never stored on this row): what Flask-Login keeps in the
    # cookie, looked up in staff_sessions on every request.
    session_token = None

    # -- Flask-Login ----------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token

    # -- permissions ----------------------------------------------------------
    def can(self, permission: str) -> bool:
        return self.is_active and permission in PERMISSIONS.get(self.role, frozenset())

    def __repr__(self):
        return f"<StaffUser {self.email} {self.role}>"


class StaffSession(db.Model):
    """One login, known to the server. The cookie carries a random token;
    only its SHA-256 is stored. Logging out ends the row, so a copy of the
    cookie stops working too; a row whose session_version is behind the
    user's was ended by "log out everywhere" (or a new password or role)."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False,
                                         index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    session_version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    ended_at: Mapped[datetime | None]
    ip: Mapped[str] = mapped_column(String(64), default="", nullable=False)

    user: Mapped[StaffUser] = relationship()


class AuditEvent(db.Model):
    """Who did what and when. Append-only: the ORM refuses updates and
    deletes, and the migration adds database triggers that refuse them too."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_email: Mapped[str] = mapped_column(String(254), default="", nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    target_id: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    details: Mapped[str] = mapped_column(Text, default="{}", nullable=False)  # JSON
    ip: Mapped[str] = mapped_column(String(64), default="", nullable=False)


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper, _conn, target):
    raise AuditLogIsAppendOnly(f"audit event {target.id} cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper, _conn, target):
    raise AuditLogIsAppendOnly(f"audit event {target.id} cannot be deleted")


class StaffRefund(db.Model):
    """A refund a staff member asked the gateway for. Written (pending) and
    committed before the gateway is called, so two refunds at once cannot
    together exceed the gift, and the count gives the idempotency key."""

    __tablename__ = "staff_refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
        Index("ix_staff_refunds_payment", "payment_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)  # 1, 2, … per payment
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    status: Mapped[str] = mapped_column(String(12), default="pending", nullable=False)
    gateway_refund_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    staff_user: Mapped[StaffUser] = relationship()


class OfflineGift(db.Model):
    """How a gift that did not come through the card form reached us."""

    __tablename__ = "offline_gifts"
    __table_args__ = (
        CheckConstraint("method IN ('cheque', 'bank_transfer', 'cash')", name="method_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id"), unique=True,
                                             nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    note: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    # Voided (entered in error, or the cheque bounced): it stops counting, its
    # payment is refunded in full through the ledger; the row and why stay.
    voided_at: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    void_reason: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    voided_by: Mapped[StaffUser | None] = relationship(foreign_keys=[voided_by_id])


# Indexes for the staff donations table (filters, sorts and search on 100k+
# rows). Declared here, beside the queries that need them, on the donations
# table's own metadata so migrations keep seeing them.
# (sort column, id): the table's next/previous cursors start right at their row.
Index("ix_donations_created_id", Donation.created_at, Donation.id)
Index("ix_donations_amount_id", Donation.amount_minor, Donation.id)
Index("ix_donations_email_lower", func.lower(Donation.email))
Index("ix_donations_source", Donation.source)
