"""Staff sessions kept on the server (table staff_sessions).

The signed cookie alone cannot be taken back: whoever copied it stays
logged in until it expires. So the cookie carries a random token, the
server keeps its hash, and every request looks it up. Logging out ends
that row; "log out everywhere" (and a new password, role or deactivation)
moves the user's session_version past every row's.

Services: the session and plain values, flush, never commit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from ..payments.models import utcnow
from .models import StaffSession, StaffUser

# A login lasts at most this long, however active it is.
MAX_AGE = timedelta(hours=12)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session, user: StaffUser, ip: str = "", now: datetime | None = None) -> str:
    """A new session for `user`; returns the token for the cookie (and sets
    it on `user`, for Flask-Login's get_id). Clears the user's finished ones."""
    now = now or utcnow()
    session.execute(delete(StaffSession).where(
        StaffSession.user_id == user.id,
        or_(StaffSession.ended_at.is_not(None), StaffSession.created_at < now - MAX_AGE,
            StaffSession.session_version != user.session_version)))
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(user_id=user.id, token_hash=_hash(token), created_at=now,
                             session_version=user.session_version, ip=(ip or "")[:64]))
    session.flush()
    user.session_token = token
    return token


def user_for(session, token: str | None, now: datetime | None = None) -> StaffUser | None:
    """The user of a live session, or None (unknown, ended, too old, or the
    user was logged out everywhere or may no longer log in)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    if row is None or row.ended_at is not None or row.created_at < (now or utcnow()) - MAX_AGE:
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.is_active or user.session_version != row.session_version:
        return None
    user.session_token = token
    return user


def end(session, token: str | None, now: datetime | None = None) -> None:
    """Log out: this session stops working, wherever its cookie is."""
    if isinstance(token, str):
        session.execute(update(StaffSession).where(
            StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
            .values(ended_at=now or utcnow()))


def end_all(session, user: StaffUser, now: datetime | None = None) -> None:
    """Log out everywhere: every session of this user stops working."""
    session.execute(update(StaffUser).where(StaffUser.id == user.id)
                    .values(session_version=StaffUser.session_version + 1))
    session.execute(update(StaffSession).where(
        StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
        .values(ended_at=now or utcnow()))
    session.refresh(user)
