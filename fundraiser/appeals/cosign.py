"""Organisations asking to co-sign a sign-on appeal (issue 19).

A request is one row per appeal and contact email, and one per appeal and
organisation name (folded: case and spacing). Asking again merges into the
row that exists: an unconfirmed one takes the newest details and a new link
(the old link stops working); one already confirmed, approved or declined is
not changed by anyone who merely types its name or address. The emailed link
(single-use, only its hash stored, valid for `valid_for`) confirms it; only
then does it wait for staff. Approval makes the Cosigner row, which is what
the appeal page shows; a request is never shown itself. One never confirmed
is purged, with its logo, once its link has been expired for a grace period
(`purge`; tasks.purge_cosign_requests).

Services take the session and plain values, flush, and never commit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..media import services as media
from ..media.models import StoredImage
from ..payments.models import utcnow
from . import services
from .models import Appeal, Cosigner, CosignRequest
from .signatures import TOKEN_MAX, normalise_email, swap_link, token_hash

EMAIL_MAX, REASON_MAX = 254, 500
UNCONFIRMED, WAITING, APPROVED, DECLINED = "unconfirmed", "waiting", "approved", "declined"


class CosignError(ValueError):
    """Codes: those of appeals.services.check_cosigner, "email", "not sign-on",
    "not waiting", "reason"."""


@dataclass(frozen=True)
class Asked:
    request_id: int
    token: str | None  # None: nothing to confirm (already confirmed or decided)
    merged: bool


def name_key(name: str) -> str:
    return " ".join((name or "").split()).casefold()[:200]


def ask(session, appeal: Appeal, *, name: str, country: str = "", url: str = "",
        email: str = "", logo: StoredImage | None = None, consent: bool = False,
        locale: str = "en", now: datetime | None = None) -> Asked:
    """Record (or merge) a request to co-sign and return the link token to email."""
    if not appeal.asks_signatures:
        raise CosignError("not sign-on")
    try:
        fields = services.check_cosigner(name, country, url)
    except services.AppealError as exc:
        raise CosignError(exc.args[0]) from None
    email = normalise_email(email)
    if not email or len(email) > EMAIL_MAX or "@" not in email:
        raise CosignError("email")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    details = dict(name=fields["name"], name_key=name_key(fields["name"]),
                   country=fields["country"], url=fields["url"], email=email,
                   consent_contact=bool(consent), locale=locale, updated_at=now,
                   token_hash=token_hash(token), link_sent_at=now)
    # One ask per appeal at a time (FOR NO KEY UPDATE on its row: gifts'
    # foreign-key checks still pass). Two unique indexes (address, name) let
    # racing INSERTs and merges deadlock on PostgreSQL, one asker getting a
    # server error; in turn, the second finds the first's row and merges.
    session.execute(select(Appeal.id).where(Appeal.id == appeal.id)
                    .with_for_update(key_share=True))
    found = _matching(session, appeal.id, email, details["name_key"])
    if not found:
        try:
            with session.begin_nested():
                row = CosignRequest(appeal_id=appeal.id, logo=logo, created_at=now,
                                    status=UNCONFIRMED, **details)
                session.add(row)
            return Asked(row.id, token, merged=False)
        except IntegrityError:  # the same organisation asked just now?
            found = _matching(session, appeal.id, email, details["name_key"])
            if not found:
                raise  # no: another constraint; let it say which
    if len(found) != 1:
        # The name is one request's and the address another's: change neither.
        return Asked(found[0].id, None, merged=True)
    existing = found[0]
    values = dict(details)
    if logo is not None:
        values["logo_id"] = logo.id
    try:
        with session.begin_nested():
            changed = session.execute(
                update(CosignRequest)
                .where(CosignRequest.id == existing.id, CosignRequest.status == UNCONFIRMED)
                .values(**values).execution_options(synchronize_session=False))
    except IntegrityError:  # another request took the new name or address just now
        return Asked(existing.id, None, merged=True)
    session.flush()
    session.expire(existing)
    return Asked(existing.id, token if changed.rowcount == 1 else None, merged=True)


def takes_changes(session, appeal_id: int, email: str, name: str) -> bool:
    """Whether asking with this address and name would store anything (a
    new request, or an unconfirmed one merged): if not, an uploaded logo need
    not be kept either."""
    found = _matching(session, appeal_id, normalise_email(email), name_key(name))
    return not found or (len(found) == 1 and found[0].status == UNCONFIRMED)


def _matching(session, appeal_id: int, email: str, key: str) -> list[CosignRequest]:
    return list(session.scalars(
        select(CosignRequest).where(CosignRequest.appeal_id == appeal_id,
                                    or_(CosignRequest.email == email,
                                        CosignRequest.name_key == key))
        .order_by(CosignRequest.email != email, CosignRequest.id)))


def pending(session, token: str) -> CosignRequest | None:
    """The unconfirmed request this link is for (expired or not), or None."""
    if not token or len(token) > TOKEN_MAX:
        return None
    return session.scalar(select(CosignRequest).where(
        CosignRequest.token_hash == token_hash(token), CosignRequest.status == UNCONFIRMED))


def expired(row: CosignRequest, now: datetime, valid_for: timedelta) -> bool:
    return row.link_sent_at is not None and row.link_sent_at <= now - valid_for


def confirm(session, token: str, valid_for: timedelta,
            now: datetime | None = None) -> CosignRequest | None:
    """Use the link: the request now waits for staff. Once only, and not
    once it has expired."""
    row = pending(session, token)
    now = now or utcnow()
    if row is None:
        return None
    done = session.execute(
        update(CosignRequest)
        .where(CosignRequest.id == row.id, CosignRequest.token_hash == token_hash(token),
               CosignRequest.status == UNCONFIRMED,
               CosignRequest.link_sent_at > now - valid_for)
        .values(status=WAITING, confirmed_at=now, token_hash=None)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return None
    session.flush()
    session.refresh(row)
    return row


def renew(session, token: str, now: datetime | None = None) -> tuple[CosignRequest, str] | None:
    """A new link in place of this (expired) one, for the same address."""
    row = pending(session, token)
    if row is None:
        return None
    new = swap_link(session, row, token, CosignRequest.status == UNCONFIRMED, now=now)
    return None if new is None else (row, new)


def _stale(older_than: datetime):
    """Unconfirmed requests whose last link was sent before `older_than`:
    nobody confirmed them in time, nor asked for a new link since."""
    return (CosignRequest.status == UNCONFIRMED,
            func.coalesce(CosignRequest.link_sent_at, CosignRequest.created_at) < older_than)


def stale(session, older_than: datetime) -> list[int]:
    return list(session.scalars(select(CosignRequest.id).where(*_stale(older_than))
                                .order_by(CosignRequest.id)))


def purge(session, older_than: datetime) -> list[int]:
    """Delete the stale unconfirmed requests and then their logos (a logo
    that another row uses too stays). One DELETE with the conditions in it: a
    request confirmed or renewed meanwhile is kept. Returns the ids deleted."""
    gone = session.execute(delete(CosignRequest).where(*_stale(older_than))
                           .returning(CosignRequest.id, CosignRequest.logo_id)
                           .execution_options(synchronize_session=False)).all()
    media.delete_unused(session, [logo_id for _id, logo_id in gone])
    return sorted(request_id for request_id, _logo in gone)


def _decidable(session, row: CosignRequest) -> None:
    """Lock the row; only a confirmed request waiting for staff is decided."""
    session.execute(select(CosignRequest.id).where(CosignRequest.id == row.id)
                    .with_for_update())
    session.refresh(row)
    if row.status != WAITING:
        raise CosignError("not waiting")


def approve(session, row: CosignRequest, staff_email: str,
            now: datetime | None = None) -> Cosigner:
    """Make (or, when staff already listed the organisation by the same name,
    complete) the appeal's Cosigner row. It is shown from now on."""
    _decidable(session, row)
    appeal = row.appeal
    same = next((c for c in appeal.cosigners if name_key(c.name) == row.name_key), None)
    if same is None:
        fields = {"name": row.name, "country": row.country, "url": row.url}
        try:
            [cosigner] = services.add_cosigners(session, appeal, [fields], logo=row.logo)
        except services.AppealError as exc:
            raise CosignError(exc.args[0]) from None
    else:
        cosigner = same
        cosigner.country = cosigner.country or row.country
        cosigner.url = cosigner.url or row.url
        cosigner.logo = cosigner.logo or row.logo
    row.status, row.decided_at, row.decided_by = APPROVED, now or utcnow(), staff_email
    row.cosigner_id = cosigner.id
    session.flush()
    return cosigner


def decline(session, row: CosignRequest, staff_email: str, reason: str,
            now: datetime | None = None) -> None:
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise CosignError("reason")
    _decidable(session, row)
    row.status, row.decided_at, row.decided_by = DECLINED, now or utcnow(), staff_email
    row.decline_reason = reason
    session.flush()


def for_appeal(session, appeal_id: int, status: str | None = None) -> list[CosignRequest]:
    query = select(CosignRequest).where(CosignRequest.appeal_id == appeal_id)
    if status:
        query = query.where(CosignRequest.status == status)
    return list(session.scalars(query.order_by(CosignRequest.confirmed_at.desc().nulls_last(),
                                               CosignRequest.id.desc()).limit(500)))


def counts(session, appeal_id: int) -> dict[str, int]:
    rows = session.execute(select(CosignRequest.status, func.count())
                           .where(CosignRequest.appeal_id == appeal_id)
                           .group_by(CosignRequest.status)).all()
    return {UNCONFIRMED: 0, WAITING: 0, APPROVED: 0, DECLINED: 0, **dict(rows)}
