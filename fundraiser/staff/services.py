"""Staff accounts, login, and the audit log. Refunds, offline
gifts and match pools have their own modules (refund_services,
offline_services, pool_services).

Services take the session and plain values, flush, and never commit: the
view or command around them commits once. None touches request or app."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from ..payments.models import utcnow
from . import passwords, sessions
from .models import ROLES, AuditEvent, StaffUser

# argon2id with the library's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email takes as long
# as a wrong password and the response time tells nothing.
_DUMMY_HASH = _hasher.hash("not a real password, never matches")

SET_PASSWORD_VALID_FOR = timedelta(hours=48)
# `flask demo` gives staff@example.org this password so `make run` can print a
# login. Demo databases only: never on a real deployment.
DEMO_STAFF_PASSWORD = "demo-staff-password"


class StaffError(ValueError):
    pass


# -- accounts -----------------------------------------------------------------

def create_staff(session, email: str, role: str) -> tuple[StaffUser, bool]:
    """Create a staff user, or return the existing one. (user, created)."""
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise StaffError("a valid email address is needed")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    user = session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is not None:
        return user, False
    user = StaffUser(email=email, role=role)
    session.add(user)
    session.flush()
    return user, True


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_set_password_token(session, user: StaffUser, now: datetime | None = None) -> str:
    """A one-time token for the set-password page; only its hash is stored,
    and issuing a new one voids the old."""
    token = secrets.token_urlsafe(32)
    user.set_password_token_hash = _token_hash(token)
    user.set_password_expires_at = (now or utcnow()) + SET_PASSWORD_VALID_FOR
    session.flush()
    return token


def user_for_token(session, token: str, now: datetime | None = None) -> StaffUser | None:
    if not token or len(token) > 100:
        return None
    user = session.scalar(
        select(StaffUser).where(StaffUser.set_password_token_hash == _token_hash(token)))
    if user is None or not user.is_active or user.set_password_expires_at is None \
            or user.set_password_expires_at < (now or utcnow()):
        return None
    return user


def check_password_rules(password: str, email: str) -> None:
    """StaffError with the rule broken (passwords.PasswordRejected's code)."""
    try:
        passwords.check(password, email)
    except passwords.PasswordRejected as exc:
        raise StaffError(str(exc)) from exc


def set_password(session, user: StaffUser, password: str) -> None:
    """Set a new password, use up the token and end every other session."""
    check_password_rules(password, user.email)
    user.password_hash = _hasher.hash(password)
    user.set_password_token_hash = None
    user.set_password_expires_at = None
    user.session_version = (user.session_version or 0) + 1
    session.flush()


def authenticate(session, email: str, password: str,
                 now: datetime | None = None) -> StaffUser | None:
    """The user, or None. The same work either way: an unknown email, an
    account without a password or one that may not log in is checked
    against a dummy hash, so the time taken tells nothing. No lockout here:
    failures are slowed down per address and per account (login_limits)."""
    email = (email or "").strip().lower()[:254]
    user = session.scalar(select(StaffUser).where(StaffUser.email == email))
    usable = user is not None and bool(user.password_hash) and user.is_active
    if not _verify(user.password_hash if usable else _DUMMY_HASH, password) or not usable:
        return None
    values = {"last_login_at": now or utcnow()}
    if _hasher.check_needs_rehash(user.password_hash):
        values["password_hash"] = _hasher.hash(password)
    session.execute(update(StaffUser).where(StaffUser.id == user.id).values(**values))
    session.refresh(user)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def log_out_everywhere(session, user: StaffUser) -> None:
    sessions.end_all(session, user)


def change_user(session, user: StaffUser, *, role: str, is_active: bool) -> dict:
    """Change role or access; returns what changed. A change ends the user's
    sessions, so it takes effect at once."""
    if role not in ROLES:
        raise StaffError("unknown role")
    changed = {}
    if role != user.role:
        changed["role"] = [user.role, role]
        user.role = role
    if is_active != user.is_active:
        changed["is_active"] = [user.is_active, is_active]
        user.is_active = is_active
    if changed:
        user.session_version += 1
    session.flush()
    return changed


# -- audit log ------------------------------------------------------------------

def audit(session, actor: StaffUser | None, action: str, target_type: str = "",
          target_id: object = "", ip: str = "", **details) -> AuditEvent:
    row = AuditEvent(
        at=utcnow(), actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else "command line",
        action=action, target_type=target_type, target_id=str(target_id or ""),
        details=json.dumps(details, default=str, ensure_ascii=False, sort_keys=True),
        ip=(ip or "")[:64],
    )
    session.add(row)
    session.flush()
    return row
