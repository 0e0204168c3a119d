from sqlalchemy import select

from .models import ROLES, StaffUser


class StaffError(ValueError):
    pass


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
