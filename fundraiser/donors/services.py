"""The donor portal's rules: magic links, the session they start, a donor's
gifts, their contact preference, and erasing their personal data.

Services take the session and plain values, flush, and never commit; none
touches the request or the app (README, "How the code is laid out")."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import joinedload

from ..appeals.models import CosignRequest, Signature
from ..donations.models import ERASED_EMAIL_DOMAIN, Donation, Subscription
from ..matching.models import MatchPledge
from ..payments.models import utcnow
from ..referrals import services as referrals
from ..staff.models import AuditEvent
from .models import PortalLink

LINK_VALID_FOR = timedelta(minutes=30)
SESSION_LASTS = timedelta(minutes=30)
# What the audit log calls a donor acting on their own data (no staff actor).
DONOR_ACTOR = "donor (self-service)"

# What a link's state is, for the page that opens it.
VALID, USED, EXPIRED, UNKNOWN = "valid", "used", "expired", "unknown"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _donations_of(email: str):
    return select(Donation).where(func.lower(Donation.email) == normalise_email(email))


def _pledges_of(email: str):
    return select(MatchPledge).where(
        func.lower(MatchPledge.pledger_email) == normalise_email(email))


def is_known(session, email: str) -> bool:
    """Whether we hold anything under this address (a gift or a pledge)."""
    email = normalise_email(email)
    return session.scalar(select(
        select(Donation.id).where(func.lower(Donation.email) == email).exists()
        | select(MatchPledge.id).where(func.lower(MatchPledge.pledger_email) == email)
        .exists())) or False


# -- magic links ----------------------------------------------------------------

def forget_old_links(session, email: str, now: datetime | None = None) -> None:
    """Delete the address's links that can no longer be used (called for
    every request, known address or not: the same work either way)."""
    now = _now(now)
    session.execute(delete(PortalLink).where(
        PortalLink.email == normalise_email(email),
        or_(PortalLink.expires_at < now - SESSION_LASTS,
            PortalLink.session_ends_at < now)))


def issue_link(session, email: str, now: datetime | None = None) -> str:
    """A new single-use link for `email`; only its hash is stored."""
    now = _now(now)
    email = normalise_email(email)
    token = secrets.token_urlsafe(32)
    session.add(PortalLink(token_hash=_hash(token), email=email, created_at=now,
                           expires_at=now + LINK_VALID_FOR))
    session.flush()
    return token


def _link_for(session, token: str) -> PortalLink | None:
    if not token or len(token) > 100:
        return None
    return session.scalar(select(PortalLink).where(PortalLink.token_hash == _hash(token)))


def link_state(session, token: str, now: datetime | None = None) -> str:
    """VALID, USED, EXPIRED or UNKNOWN; looks only, uses nothing up."""
    link = _link_for(session, token)
    if link is None:
        return UNKNOWN
    if link.used_at is not None:
        return USED
    if link.expires_at <= _now(now):
        return EXPIRED
    return VALID


def open_link(session, token: str, now: datetime | None = None) -> tuple[PortalLink, str] | None:
    """Use the link up and start its session: once, even when two requests
    race (a conditional UPDATE; the loser gets None). Returns the link and
    the session token for the cookie (only its hash is stored)."""
    now = _now(now)
    link = _link_for(session, token)
    if link is None:
        return None
    session_token = secrets.token_urlsafe(32)
    opened = session.execute(
        update(PortalLink)
        .where(PortalLink.id == link.id, PortalLink.used_at.is_(None),
               PortalLink.expires_at > now)
        .values(used_at=now, session_ends_at=now + SESSION_LASTS,
                session_hash=_hash(session_token))
        .execution_options(synchronize_session=False))
    if opened.rowcount != 1:
        return None
    session.refresh(link)
    return link, session_token


def current_session(session, session_token, now: datetime | None = None) -> PortalLink | None:
    """The open session a cookie's token names, or None (ended, expired,
    erased, or not a token at all)."""
    if not isinstance(session_token, str) or not session_token or len(session_token) > 100:
        return None
    link = session.scalar(select(PortalLink).where(
        PortalLink.session_hash == _hash(session_token)))
    if link is None or link.session_ends_at is None or link.session_ends_at <= _now(now):
        return None
    return link


def end_session(session, link: PortalLink) -> None:
    session.delete(link)
    session.flush()


# -- what the donor sees --------------------------------------------------------

def gifts_for(session, email: str) -> list[Donation]:
    """Every gift given under this address, newest first, with its payment
    and appeal loaded."""
    return list(session.scalars(
        _donations_of(email)
        .options(joinedload(Donation.payment), joinedload(Donation.appeal))
        .order_by(Donation.created_at.desc(), Donation.id.desc())))


def wants_updates(session, email: str) -> bool:
    """The contact preference: on when any gift of theirs asked for news
    (the gift form's "keep me informed" box); that is the flag anything that
    mails updates about an appeal must check."""
    return session.scalar(select(
        _donations_of(email).where(Donation.consent_contact.is_(True)).exists())) or False


def set_wants_updates(session, email: str, on: bool) -> int:
    """Set the preference on every gift of theirs; returns how many."""
    changed = session.execute(
        update(Donation)
        .where(func.lower(Donation.email) == normalise_email(email))
        .values(consent_contact=bool(on))
        .execution_options(synchronize_session=False))
    session.flush()
    return changed.rowcount


# -- erase my data ----------------------------------------------------------------

@dataclass(frozen=True)
class Erasure:
    donations: int
    pledges: int


def erase(session, email: str, now: datetime | None = None) -> Erasure:
    """Replace the donor's name, email and comments on every gift, pledge
    and signature, keep the accounting (amounts, dates, payments, the match
    ledger), end their links and sessions, and say so in the audit log,
    without the personal data."""
    now = _now(now)
    email = normalise_email(email)
    # One address per erasure, so staff figures still count one donor.
    placeholder = f"erased-{secrets.token_hex(8)}@{ERASED_EMAIL_DOMAIN}"
    donations = list(session.scalars(_donations_of(email).with_for_update()))
    for d in donations:
        d.donor_name = ""
        d.display_name = ""
        d.email = placeholder
        d.comment = ""
        d.is_anonymous = True
        d.consent_contact = False
        d.erased_at = now
    pledges = list(session.scalars(_pledges_of(email).with_for_update()))
    for p in pledges:
        p.pledger_name = ""
        p.pledger_email = placeholder
    # Signatures under the address keep counting; who signed is forgotten.
    signatures = list(session.scalars(select(Signature).where(
        func.lower(Signature.email) == email).with_for_update()))
    for sig in signatures:
        sig.name, sig.country, sig.comment = "", "", ""
        sig.email = placeholder
        sig.consent_contact = False
        sig.token_hash = None
    # An organisation's request to co-sign keeps its organisation (public once
    # approved); the person who asked for it, by this address, is forgotten.
    cosign_requests = list(session.scalars(select(CosignRequest.id).where(
        CosignRequest.email == email)))
    session.execute(update(CosignRequest).where(CosignRequest.email == email)
                    .values(email=placeholder, consent_contact=False, token_hash=None)
                    .execution_options(synchronize_session=False))
    # Monthly gifts keep running (the donor cancels them first if they wish);
    # their address goes like the rest.
    session.execute(update(Subscription).where(Subscription.email == email)
                    .values(email=placeholder))
    session.execute(delete(PortalLink).where(PortalLink.email == email))
    # Their share links keep working (they may be out there) but no longer
    # lead back to the address.
    referrals.forget_email(session, email)
    session.add(AuditEvent(
        at=now, actor_id=None, actor_email=DONOR_ACTOR, action="donor.erase",
        target_type="donor", target_id=placeholder.split("@")[0],
        details=json.dumps({"donations": sorted(d.id for d in donations),
                            "pledges": sorted(p.id for p in pledges),
                            "signatures": sorted(s.id for s in signatures),
                            "cosign_requests": sorted(cosign_requests)},
                           sort_keys=True)))
    session.flush()
    return Erasure(donations=len(donations), pledges=len(pledges))


def audit_recurring(session, sub, action: str, **details) -> None:
    """The audit log's line for a donor's change to their monthly or yearly
    gift (donor.recurring.amount | pause | resume | card | cancel)."""
    session.add(AuditEvent(
        at=utcnow(), actor_id=None, actor_email=DONOR_ACTOR, action=f"donor.recurring.{action}",
        target_type="subscription", target_id=str(sub.id),
        details=json.dumps(details, sort_keys=True)))
    session.flush()
