"""Sign-on: people sign an appeal that asks for signatures.

A signature is one row per appeal and email: signing again with the same
address merges into it (the newest details, a new link), never a second
row, even when two requests race (the unique index decides; the loser
updates the winner's row). It counts publicly once the emailed link is
used: single-use, only its hash stored, cleared when used, and only for a
while (`valid_for`, SIGN_LINK_VALID_DAYS): an expired link can be swapped
for a new one, sent to the same address. Once confirmed, a signature is not
changed by anyone who merely types its address; one that staff removed
(abuse) is not counted, and its address cannot sign that appeal again.

Services take the session and plain values, flush, and never commit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..payments.models import utcnow
from .models import Appeal, Signature

NAME_MAX, EMAIL_MAX, COUNTRY_MAX, COMMENT_MAX = 120, 254, 80, 500
TOKEN_MAX = 100


class SignatureError(ValueError):
    pass


@dataclass(frozen=True)
class Signed:
    signature_id: int
    token: str | None  # None: already confirmed, no link to send
    merged: bool       # the address had signed before


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def token_hash(token: str) -> str:
    """What is stored of an emailed link's token (signatures, co-sign requests)."""
    return hashlib.sha256(token.encode()).hexdigest()


def swap_link(session, row, token: str, *unconfirmed, now: datetime | None = None) -> str | None:
    """A new emailed link for `row` (a Signature or a CosignRequest, found by
    `token`) in place of that one, which stops working; `unconfirmed` are the
    model's own conditions for a row still waiting for its link. A conditional
    UPDATE: of two requests renewing one link, one gets the new token, the
    other None. Returns the new token (to email), or None."""
    model = type(row)
    new = secrets.token_urlsafe(32)
    done = session.execute(
        update(model)
        .where(model.id == row.id, model.token_hash == token_hash(token), *unconfirmed)
        .values(token_hash=token_hash(new), link_sent_at=now or utcnow())
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return None
    session.flush()
    session.refresh(row)
    return new


def sign(session, appeal: Appeal, *, name: str, email: str, country: str = "",
         comment: str = "", consent: bool = False, locale: str = "en",
         now: datetime | None = None, referral_link_id: int | None = None) -> Signed:
    """Record (or merge) a signature and return the link token to email.
    `referral_link_id`: the share link the signer came through; a merge
    keeps the first one a signature had."""
    if not appeal.asks_signatures:
        raise SignatureError("this appeal does not ask for signatures")
    email, name = normalise_email(email), (name or "").strip()
    if not email or len(email) > EMAIL_MAX or not name or len(name) > NAME_MAX \
            or len(country or "") > COUNTRY_MAX or len(comment or "") > COMMENT_MAX:
        raise SignatureError("missing or oversized field")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    details = dict(name=name, country=(country or "").strip(), comment=(comment or "").strip(),
                   consent_contact=bool(consent), locale=locale, updated_at=now)
    existing = _find(session, appeal.id, email)
    if existing is None:
        try:
            with session.begin_nested():
                row = Signature(appeal_id=appeal.id, email=email, token_hash=token_hash(token),
                                created_at=now, link_sent_at=now,
                                referral_link_id=referral_link_id, **details)
                session.add(row)
            return Signed(row.id, token, merged=False)
        except IntegrityError:  # another request signed with this address just now
            existing = _find(session, appeal.id, email)
    # Merge: an unconfirmed row takes the newest details and a new link (the
    # old link stops working); a confirmed one stays as its owner confirmed it.
    changed = session.execute(
        update(Signature)
        .where(Signature.id == existing.id, Signature.confirmed_at.is_(None),
               Signature.removed_at.is_(None))
        .values(token_hash=token_hash(token), link_sent_at=now, **details)
        .execution_options(synchronize_session=False))
    if referral_link_id is not None:
        session.execute(
            update(Signature)
            .where(Signature.id == existing.id, Signature.referral_link_id.is_(None))
            .values(referral_link_id=referral_link_id)
            .execution_options(synchronize_session=False))
    session.flush()
    return Signed(existing.id, token if changed.rowcount == 1 else None, merged=True)


def _find(session, appeal_id: int, email: str) -> Signature | None:
    return session.scalar(select(Signature).where(Signature.appeal_id == appeal_id,
                                                  Signature.email == email))


def pending(session, token: str) -> Signature | None:
    """The unconfirmed signature this link is for (expired or not), or None;
    uses nothing up."""
    if not token or len(token) > TOKEN_MAX:
        return None
    return session.scalar(select(Signature).where(Signature.token_hash == token_hash(token),
                                                  Signature.confirmed_at.is_(None),
                                                  Signature.removed_at.is_(None)))


def expired(signature: Signature, now: datetime, valid_for: timedelta) -> bool:
    """A link sent before the migration that added `link_sent_at` has none: valid."""
    return signature.link_sent_at is not None and signature.link_sent_at <= now - valid_for


def confirm(session, token: str, now: datetime | None = None,
            valid_for: timedelta | None = None) -> Signature | None:
    """Use the link: the signature counts from now on. Once only, even when
    two requests race (a conditional UPDATE; the loser gets None), and not
    once it has expired."""
    signature = pending(session, token)
    if signature is None:
        return None
    now = now or utcnow()
    fresh = [] if valid_for is None else [or_(Signature.link_sent_at.is_(None),
                                               Signature.link_sent_at > now - valid_for)]
    done = session.execute(
        update(Signature)
        .where(Signature.id == signature.id, Signature.token_hash == token_hash(token),
               Signature.confirmed_at.is_(None), Signature.removed_at.is_(None), *fresh)
        .values(confirmed_at=now, token_hash=None)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return None
    session.flush()
    session.refresh(signature)
    return signature


def renew(session, token: str, now: datetime | None = None) -> Signed | None:
    """A new link in place of this (expired) one, for the same address; the
    old one stops working. None when the link names no unconfirmed signature."""
    signature = pending(session, token)
    if signature is None:
        return None
    new = swap_link(session, signature, token, Signature.confirmed_at.is_(None), now=now)
    return None if new is None else Signed(signature.id, new, merged=True)


def remove(session, signature: Signature, now: datetime | None = None) -> bool:
    """Staff remove an abusive signature: it stops counting; its link stops
    working. False when it was removed already."""
    done = session.execute(
        update(Signature).where(Signature.id == signature.id, Signature.removed_at.is_(None))
        .values(removed_at=now or utcnow(), token_hash=None)
        .execution_options(synchronize_session=False))
    session.flush()
    session.refresh(signature)
    return done.rowcount == 1


def confirmed_count(session, appeal_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Signature).where(
        Signature.appeal_id == appeal_id, Signature.confirmed_at.is_not(None),
        Signature.removed_at.is_(None))) or 0


def figures(session, appeal: Appeal) -> dict:
    """`{"count", "goal"}` as the public API and pages show them."""
    return {"count": confirmed_count(session, appeal.id), "goal": appeal.signature_goal}
