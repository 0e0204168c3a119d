"""Staff accounts, login and lockout, the audit log, refunds and offline gifts.

Services take the session and plain values, flush, and never commit: the
view or command around them commits once. None touches request or app."""

from __future__ import annotations

import hashlib
import json
import secrets
import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update

from ..appeals.models import Appeal
from ..donations.models import Donation
from ..matching import rules
from ..matching import services as matching
from ..matching.models import MONTHLY_ONCE, MONTHLY_X12, MatchPool
from ..money import Money
from ..payments import services as payments
from ..payments import states
from ..payments.gateway import RefundResult
from ..payments.models import Payment, utcnow
from .models import OFFLINE_METHODS, ROLES, AuditEvent, OfflineGift, StaffRefund, StaffUser

# argon2id with the library's defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email takes as long
# as a wrong password and the response time tells nothing.
_DUMMY_HASH = _hasher.hash("not a real password, never matches")

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
SET_PASSWORD_VALID_FOR = timedelta(hours=48)
MIN_PASSWORD_LENGTH = 12
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
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise StaffError(f"at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip().lower() == email.lower():
        raise StaffError("the password cannot be the email address")


def set_password(session, user: StaffUser, password: str) -> None:
    """Set a new password, use up the token, lift any lockout and end every
    other session."""
    check_password_rules(password, user.email)
    user.password_hash = _hasher.hash(password)
    user.set_password_token_hash = None
    user.set_password_expires_at = None
    user.failed_logins = 0
    user.locked_until = None
    user.session_version = (user.session_version or 0) + 1
    session.flush()


def authenticate(session, email: str, password: str,
                 now: datetime | None = None) -> tuple[StaffUser | None, str]:
    """(user, "ok") or (None, "invalid" | "locked"). Failures are counted per
    account with an atomic UPDATE; after MAX_FAILURES the account refuses
    every login, right or wrong, for LOCK_FOR. The caller commits either way."""
    now = now or utcnow()
    email = (email or "").strip().lower()[:254]
    user = session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is None or not user.password_hash or not user.is_active:
        _verify(_DUMMY_HASH, password)
        return None, "invalid"
    if user.is_locked(now):
        return None, "locked"
    if not _verify(user.password_hash, password):
        session.execute(update(StaffUser).where(StaffUser.id == user.id)
                        .values(failed_logins=StaffUser.failed_logins + 1))
        failures = session.scalar(select(StaffUser.failed_logins).where(StaffUser.id == user.id))
        if failures >= MAX_FAILURES:
            session.execute(update(StaffUser).where(StaffUser.id == user.id)
                            .values(failed_logins=0, locked_until=now + LOCK_FOR))
            session.refresh(user)
            return None, "locked"
        return None, "invalid"
    values = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if _hasher.check_needs_rehash(user.password_hash):
        values["password_hash"] = _hasher.hash(password)
    session.execute(update(StaffUser).where(StaffUser.id == user.id).values(**values))
    session.refresh(user)
    return user, "ok"


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def load_session_user(session, session_id: str) -> StaffUser | None:
    """Flask-Login's user loader: "id:version"; an old version is logged out."""
    user_id, _, version = (session_id or "").partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = session.get(StaffUser, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    return user


def log_out_everywhere(session, user: StaffUser) -> None:
    session.execute(update(StaffUser).where(StaffUser.id == user.id)
                    .values(session_version=StaffUser.session_version + 1))
    session.refresh(user)


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


# -- refunds --------------------------------------------------------------------

class RefundError(ValueError):
    pass


def refund_key(reference: str, number: int) -> str:
    """Idempotency key for the gateway: our payment reference + refund count."""
    return f"fundraiser-{reference}-refund-{number}"


def refundable_minor(session, payment: Payment) -> int:
    rows = session.execute(
        select(StaffRefund.status, func.coalesce(func.sum(StaffRefund.amount_minor), 0))
        .where(StaffRefund.payment_id == payment.id,
               StaffRefund.status.in_(("pending", "succeeded")))
        .group_by(StaffRefund.status)
    ).all()
    sums = {status: int(total) for status, total in rows}
    done = max(payment.refunded_minor, sums.get("succeeded", 0))
    return max(0, payment.amount_minor - done - sums.get("pending", 0))


def begin_refund(session, *, donation: Donation, amount_minor: int, reason: str,
                 actor: StaffUser, ip: str = "") -> StaffRefund:
    """Reserve a refund under the payment's row lock. The caller commits,
    then calls the gateway with refund_key(), then finish_refund/fail_refund."""
    reason = (reason or "").strip()
    if not reason:
        raise RefundError("a reason is required")
    # Row lock (FOR UPDATE on PostgreSQL; SQLite holds BEGIN IMMEDIATE already).
    payment = session.scalar(select(Payment).where(Payment.id == donation.payment_id)
                             .with_for_update().execution_options(populate_existing=True))
    if payment.provider != "stripe" or not payment.intent_id:
        raise RefundError("only card gifts can be refunded through the payment service")
    if payment.status not in states.COUNTED:
        raise RefundError("only a succeeded gift can be refunded")
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise RefundError("the amount must be positive")
    available = refundable_minor(session, payment)
    if amount_minor > available:
        raise RefundError("more than is left to refund")
    number = 1 + session.scalar(select(func.count()).select_from(StaffRefund)
                                .where(StaffRefund.payment_id == payment.id))
    refund = StaffRefund(payment_id=payment.id, number=number, amount_minor=amount_minor,
                         reason=reason[:500], status="pending", staff_user_id=actor.id)
    session.add(refund)
    session.flush()
    audit(session, actor, "refund.requested", "donation", donation.id, ip=ip,
          refund_id=refund.id, amount_minor=amount_minor, currency=payment.currency,
          reason=reason[:500])
    return refund


def finish_refund(session, refund_id: int, gateway_refund_id: str, actor: StaffUser | None,
                  ip: str = "", **details) -> int:
    """The gateway accepted the refund: record it and move the payment's
    refund total (exactly once: apply_refund_total is idempotent, and the
    charge.refunded webhook reports the same total)."""
    refund = session.get(StaffRefund, refund_id)
    refund.status = "succeeded"
    refund.gateway_refund_id = gateway_refund_id
    session.flush()
    total = session.scalar(
        select(func.coalesce(func.sum(StaffRefund.amount_minor), 0))
        .where(StaffRefund.payment_id == refund.payment_id, StaffRefund.status == "succeeded"))
    with payments.caused_by(f"refund by {actor.email}" if actor else None):
        delta = payments.apply_refund_total(session, refund.payment_id, int(total))
    donation = session.scalar(select(Donation).where(Donation.payment_id == refund.payment_id))
    audit(session, actor, "refund.succeeded", "donation", donation.id if donation else "",
          ip=ip, refund_id=refund.id, amount_minor=refund.amount_minor,
          gateway_refund_id=gateway_refund_id, **details)
    return delta


def fail_refund(session, refund_id: int, error: str, actor: StaffUser | None, ip: str = "",
                **details) -> None:
    refund = session.get(StaffRefund, refund_id)
    refund.status = "failed"
    refund.error = (error or "")[:500]
    session.flush()
    donation = session.scalar(select(Donation).where(Donation.payment_id == refund.payment_id))
    audit(session, actor, "refund.failed", "donation", donation.id if donation else "", ip=ip,
          refund_id=refund.id, error=refund.error, **details)


# A refund still pending this long after it was reserved was cut off between
# the gateway and our commit: the gateway call itself gives up within about a
# minute (20 s timeout, two retries).
REFUND_SETTLE_AFTER = timedelta(minutes=5)
# The gateway's statuses for a refund that will not happen; any other
# (succeeded, pending, requires_action) counts, as it does when staff refund.
_REFUND_NOT_MADE = ("failed", "canceled")
# StaffRefund.error when reconcile fails a refund (the staff page words them).
REFUND_NOT_AT_GATEWAY = "the payment service has no such refund"
REFUND_NOT_MADE = "the payment service did not make this refund"


@dataclass(frozen=True)
class StuckRefund:
    refund_id: int
    intent_id: str


def stuck_refunds(session, older_than: timedelta = REFUND_SETTLE_AFTER,
                  now: datetime | None = None) -> list[StuckRefund]:
    """Refunds left `pending` longer than `older_than`, whatever their age:
    the process died after reserving them (before, during or after the
    gateway call) and no one recorded the outcome."""
    cutoff = (now or utcnow()) - older_than
    rows = session.execute(
        select(StaffRefund.id, Payment.intent_id)
        .join(Payment, Payment.id == StaffRefund.payment_id)
        .where(StaffRefund.status == "pending", StaffRefund.created_at < cutoff)
        .order_by(StaffRefund.id)
    ).all()
    return [StuckRefund(refund_id, intent_id) for refund_id, intent_id in rows]


def settle_stuck_refund(session, refund_id: int,
                        gateway_refunds: list[RefundResult]) -> tuple[str, str]:
    """Finish a stuck refund from the gateway's list of the payment's refunds.
    Returns (outcome, detail): ("succeeded", gateway refund id): recorded, and
    the payment's total and match ledger move through apply_refund_total, so
    exactly once whatever charge.refunded does; ("failed", why): the gateway
    has no such refund, the reserved amount is free again; ("unchanged", "")
    when someone settled it first. Audited as done by the command line."""
    payment_id = session.scalar(select(StaffRefund.payment_id)
                                .where(StaffRefund.id == refund_id))
    if payment_id is None:
        raise LookupError(f"no refund {refund_id}")
    # The payment's row lock, as begin_refund takes it: one settler at a time.
    payment = session.scalar(select(Payment).where(Payment.id == payment_id)
                             .with_for_update().execution_options(populate_existing=True))
    refund = session.get(StaffRefund, refund_id, populate_existing=True)
    if refund.status != "pending":
        return "unchanged", ""
    found = _gateway_refund_of(session, refund, refund_key(payment.reference, refund.number),
                               gateway_refunds)
    if found is not None and found.status not in _REFUND_NOT_MADE:
        finish_refund(session, refund.id, found.refund_id, None, via="reconcile")
        return "succeeded", found.refund_id
    if found is None:
        fail_refund(session, refund.id, REFUND_NOT_AT_GATEWAY, None, via="reconcile")
        return "failed", REFUND_NOT_AT_GATEWAY
    fail_refund(session, refund.id, REFUND_NOT_MADE, None, via="reconcile",
                gateway_refund_id=found.refund_id, gateway_status=found.status)
    return "failed", f"{REFUND_NOT_MADE}: {found.refund_id} {found.status}"


def _gateway_refund_of(session, refund: StaffRefund, key: str,
                       gateway_refunds: list[RefundResult]) -> RefundResult | None:
    for candidate in gateway_refunds:
        if candidate.key == key:
            return candidate
    # Refunds sent before the key went into their metadata: one of the same
    # amount, without a key, that no other refund of ours has claimed.
    claimed = set(session.scalars(select(StaffRefund.gateway_refund_id).where(
        StaffRefund.payment_id == refund.payment_id,
        StaffRefund.gateway_refund_id.is_not(None))))
    for candidate in gateway_refunds:
        if (candidate.key is None and candidate.amount_minor == refund.amount_minor
                and candidate.refund_id not in claimed):
            return candidate
    return None


# -- offline gifts --------------------------------------------------------------

def record_offline_gift(session, *, appeal: Appeal, amount: Money, name: str, email: str,
                        method: str, received_on: date, note: str = "", source: str = "",
                        actor: StaffUser | None, ip: str = "", is_demo: bool = False,
                        created_at: datetime | None = None) -> Donation:
    """A cheque, bank transfer or cash gift: a Donation and a Payment with
    provider "offline", moved to succeeded through transition_to() so it is
    counted (and matched, and receipted) like a card gift."""
    if method not in OFFLINE_METHODS:
        raise StaffError("unknown method")
    if amount.currency != appeal.currency:
        raise StaffError("offline gifts are recorded in the appeal's currency")
    if amount.minor <= 0:
        raise StaffError("the amount must be positive")
    if not (name or "").strip():
        raise StaffError("a name is required")
    payment = payments.create_payment(session, amount.minor, amount.currency)
    session.execute(update(Payment).where(Payment.id == payment.id)
                    .values(provider="offline"))
    donation = Donation(
        appeal_id=appeal.id, payment_id=payment.id, amount_minor=amount.minor,
        currency=amount.currency, donor_name=name.strip()[:120],
        email=(email or "").strip().lower()[:254], is_anonymous=False,
        locale=appeal.language if appeal.language in ("en", "he") else "en",
        source=(source or "").strip()[:64], created_at=created_at or utcnow(),
        # Demo rows never send a receipt to their invented addresses.
        receipt_sent_at=utcnow() if is_demo else None,
    )
    session.add(donation)
    session.flush()
    session.add(OfflineGift(donation_id=donation.id, method=method, received_on=received_on,
                            note=(note or "").strip()[:500], is_demo=is_demo,
                            entered_by_id=actor.id if actor else None))
    session.flush()
    by = actor.email if actor else "command line"
    with payments.caused_by(f"offline gift entered by {by}"):
        payments.transition_to(session, payment.id, states.SUCCEEDED)
    if created_at is not None:
        session.execute(update(Payment).where(Payment.id == payment.id)
                        .values(created_at=created_at, succeeded_at=created_at))
    if not is_demo:
        audit(session, actor, "gift.offline_recorded", "donation", donation.id, ip=ip,
              amount_minor=amount.minor, currency=amount.currency, method=method,
              appeal=appeal.slug)
    return donation


# -- match pools ------------------------------------------------------------------

class PoolError(ValueError):
    """A pool change a staff member asked for that cannot be made (the code
    is a short English reason; the view turns it into a sentence)."""


# Guards against typos and overflow: a cap above this many major units is refused.
POOL_CAP_MAX_MAJOR = 100_000_000
# Windows outside these years are typos (and beyond what every database stores alike).
POOL_YEARS = (2000, 2100)


def _check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    for when in (starts_at, ends_at):
        if when is not None and not POOL_YEARS[0] <= when.year <= POOL_YEARS[1]:
            raise PoolError("window out of range")
    if starts_at and ends_at and ends_at <= starts_at:
        raise PoolError("the pool must end after it starts")


def _check_cap(cap_minor: int, currency: str) -> None:
    if cap_minor <= 0:
        raise PoolError("cap must be positive")
    if cap_minor > Money.from_major(POOL_CAP_MAX_MAJOR, currency).minor:
        raise PoolError("cap too large")


# Characters that may not be in a sponsor's name: control characters, line
# breaks, and the bidi embeddings, overrides and isolates that would reorder
# the text around the name on the public pages.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _check_sponsor(sponsor_name: str, anonymous: bool) -> None:
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS
           for ch in sponsor_name):
        raise PoolError("sponsor name has control characters")
    if len(sponsor_name) > MatchPool.sponsor_name.type.length:
        raise PoolError("sponsor name too long")
    if not anonymous and not sponsor_name:
        raise PoolError("name the sponsor or make the pool anonymous")


@dataclass(frozen=True)
class PoolTerms:
    """What staff set on a match pool, checked the same way when the pool is
    made and whenever it is changed."""

    sponsor_name: str
    anonymous: bool
    ratio: tuple[int, int]
    cap_minor: int
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    per_gift_limit_minor: int | None = None
    min_gift_minor: int = 0
    first_time_only: bool = False
    monthly_rule: str = MONTHLY_ONCE

    @classmethod
    def of(cls, pool: MatchPool) -> PoolTerms:
        return cls(sponsor_name=pool.sponsor_name, anonymous=pool.is_anonymous,
                   ratio=(pool.ratio_match, pool.ratio_gift), cap_minor=pool.cap_minor,
                   starts_at=pool.starts_at, ends_at=pool.ends_at,
                   per_gift_limit_minor=pool.per_gift_limit_minor,
                   min_gift_minor=pool.min_gift_minor, first_time_only=pool.first_time_only,
                   monthly_rule=pool.monthly_rule)

    def checked(self, currency: str) -> PoolTerms:
        """These terms with the sponsor's name trimmed, or PoolError."""
        terms = replace(self, sponsor_name=(self.sponsor_name or "").strip())
        _check_sponsor(terms.sponsor_name, terms.anonymous)
        if not rules.ratio_ok(*terms.ratio):
            raise PoolError("ratio out of range")
        _check_cap(terms.cap_minor, currency)
        _check_window(terms.starts_at, terms.ends_at)
        if terms.per_gift_limit_minor is not None:
            if terms.per_gift_limit_minor <= 0:
                raise PoolError("per-gift limit must be positive")
            if terms.per_gift_limit_minor > terms.cap_minor:
                raise PoolError("per-gift limit above the cap")
        if not 0 <= terms.min_gift_minor <= Money.from_major(POOL_CAP_MAX_MAJOR, currency).minor:
            raise PoolError("minimum gift out of range")
        if terms.monthly_rule not in (MONTHLY_ONCE, MONTHLY_X12):
            raise PoolError("monthly rule unknown")
        return terms

    def columns(self) -> dict:
        """The terms as MatchPool columns (matching.POOL_TERMS)."""
        return dict(sponsor_name=self.sponsor_name, is_anonymous=self.anonymous,
                    ratio_match=self.ratio[0], ratio_gift=self.ratio[1],
                    cap_minor=self.cap_minor, starts_at=self.starts_at, ends_at=self.ends_at,
                    per_gift_limit_minor=self.per_gift_limit_minor,
                    min_gift_minor=self.min_gift_minor, first_time_only=self.first_time_only,
                    monthly_rule=self.monthly_rule)

    def audit_values(self) -> dict:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["ratio"] = rules.ratio_text(*self.ratio)
        return values


def create_match_pool(session, *, appeal: Appeal, actor: StaffUser, ip: str = "",
                      **terms) -> MatchPool:
    """A sponsor's pool on an appeal, in the appeal's currency, and its audit
    row. `terms` are PoolTerms' fields."""
    checked = PoolTerms(**terms).checked(appeal.currency)
    try:
        pool = matching.create_pool(
            session, appeal_id=appeal.id, currency=appeal.currency,
            cap_minor=checked.cap_minor, ratio=checked.ratio,
            sponsor_name=checked.sponsor_name, anonymous=checked.anonymous,
            starts_at=checked.starts_at, ends_at=checked.ends_at,
            per_gift_limit_minor=checked.per_gift_limit_minor,
            min_gift_minor=checked.min_gift_minor, first_time_only=checked.first_time_only,
            monthly_rule=checked.monthly_rule)
    except matching.MatchingError as exc:
        raise PoolError(str(exc)) from exc
    audit(session, actor, "pool.created", "match_pool", pool.id, ip=ip, appeal=appeal.slug,
          currency=pool.currency, **PoolTerms.of(pool).audit_values())
    return pool


def change_match_pool(session, pool_id: int, *, actor: StaffUser, ip: str = "",
                      **changes) -> dict:
    """Change any of a pool's terms (PoolTerms' fields; those not given stay).
    The change applies to gifts from now on: the ledger is never rewritten,
    and a refund of an earlier gift reverses exactly what it was matched.

    The pool is read under the row lock a gift's allocation takes, so a
    change and a gift being matched wait for each other and the change is
    judged against the pool as it is. All or nothing: a refused part raises
    PoolError before anything is written. Returns {field: [old, new]} for
    what changed ({} when nothing did, and then nothing is audited)."""
    pool = matching.lock_pool(session, pool_id)
    if pool is None:
        raise PoolError("no such pool")
    before = PoolTerms.of(pool)
    after = replace(before, **changes).checked(pool.currency)
    if after == before:
        return {}
    try:
        matching.change_pool(session, pool.id, **after.columns())
    except matching.MatchingError as exc:
        raise PoolError("cap below matched" if after.cap_minor < before.cap_minor
                        else str(exc)) from exc
    old, new = before.audit_values(), after.audit_values()
    changed = {name: [old[name], new[name]] for name in new if old[name] != new[name]}
    audit(session, actor, "pool.changed", "match_pool", pool.id, ip=ip,
          currency=pool.currency, **changed)
    return changed
