"""Share links: made once and found again, visits counted, codes checked.

Services take the session and plain values, flush, and never commit."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .models import COSIGNER, DONOR, SIGNER, ReferralLink, ReferralVisit

# 12 characters of token_urlsafe: 72 random bits, short enough to read aloud.
CODE = re.compile(r"[A-Za-z0-9_-]{12}")
REPORT_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,48}")


def _new_code() -> str:
    """Never one that starts with "-": a spreadsheet would read it as a
    formula, and the staff's CSV export neutralises it with a quote, so the
    code there would not be the link's."""
    while True:
        code = secrets.token_urlsafe(9)
        if not code.startswith("-"):
            return code


def email_hash(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def by_code(session, code: str | None) -> ReferralLink | None:
    """The link with this code; None for anything else (forged, mistyped)."""
    if not isinstance(code, str) or not CODE.fullmatch(code):
        return None
    return session.scalar(select(ReferralLink).where(ReferralLink.code == code))


def by_report_token(session, token: str | None) -> ReferralLink | None:
    if not isinstance(token, str) or not REPORT_TOKEN.fullmatch(token):
        return None
    return session.scalar(select(ReferralLink).where(ReferralLink.report_token == token,
                                                     ReferralLink.kind == COSIGNER))


def _insert(session, find, **values) -> ReferralLink:
    """Insert a link, or return the one a concurrent request just made."""
    try:
        with session.begin_nested():
            link = ReferralLink(code=_new_code(), **values)
            session.add(link)
        return link
    except IntegrityError:
        found = find()
        if found is None:  # a code collision (2**-72): try once more
            with session.begin_nested():
                link = ReferralLink(code=_new_code(), **values)
                session.add(link)
            return link
        return found


def cosigner_link(session, appeal_id: int, cosigner_id: int) -> ReferralLink:
    """The co-signer's link (and private report token), made on first use."""
    def find():
        return session.scalar(select(ReferralLink).where(
            ReferralLink.cosigner_id == cosigner_id))

    return find() or _insert(session, find, appeal_id=appeal_id, kind=COSIGNER,
                             cosigner_id=cosigner_id,
                             report_token=secrets.token_urlsafe(32))


def person_link(session, appeal_id: int, email: str, *, signature_id: int | None = None,
                donation_id: int | None = None) -> ReferralLink:
    """A signer's or donor's link: one per appeal and email, so a person who
    signs and then gives shares one link."""
    digest = email_hash(email)

    def find():
        return session.scalar(select(ReferralLink).where(
            ReferralLink.appeal_id == appeal_id, ReferralLink.email_hash == digest))

    link = find()
    if link is None:
        return _insert(session, find, appeal_id=appeal_id,
                       kind=SIGNER if signature_id is not None else DONOR,
                       email_hash=digest, signature_id=signature_id, donation_id=donation_id)
    if link.signature_id is None and signature_id is not None:
        link.signature_id = signature_id
    if link.donation_id is None and donation_id is not None:
        link.donation_id = donation_id
    session.flush()
    return link


def existing_person_link(session, appeal_id: int, email: str) -> ReferralLink | None:
    return session.scalar(select(ReferralLink).where(
        ReferralLink.appeal_id == appeal_id, ReferralLink.email_hash == email_hash(email)))


def forget_email(session, email: str) -> None:
    """The person erased their data: their links no longer name the address."""
    session.execute(update(ReferralLink).where(ReferralLink.email_hash == email_hash(email))
                    .values(email_hash=None).execution_options(synchronize_session=False))


def visitor_key(secret: str, day: date, address: str, user_agent: str) -> str:
    """A keyed hash that tells one browser from another on one day, and
    cannot be turned back into an address."""
    message = f"{day.isoformat()}|{address}|{user_agent[:300]}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def record_visit(session, link: ReferralLink, day: date, visitor: str) -> bool:
    """Count a visit; a second one by the same visitor that day is not
    counted again (the unique index decides, under any concurrency)."""
    exists = session.scalar(select(ReferralVisit.id).where(
        ReferralVisit.link_id == link.id, ReferralVisit.day == day,
        ReferralVisit.visitor == visitor))
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ReferralVisit(link_id=link.id, day=day, visitor=visitor))
        return True
    except IntegrityError:
        return False


def attributable(session, code: str | None, appeal_id: int) -> int | None:
    """The id of the link a new signature or gift on this appeal is credited
    to, or None: an unknown code, or one for another appeal, credits nothing."""
    link = by_code(session, code)
    return link.id if link is not None and link.appeal_id == appeal_id else None
