"""The public cache hears of payment changes through here: a gift that
succeeds, is refunded, disputed or reinstated, and an appeal whose card gifts
pause, give that appeal's public pages (page, progress JSON) a new version
once the transaction commits, on every host sharing the cache
(fundraiser/cache.py). Staff edits drop everything (staff/blueprint.commit)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from .. import signals
from ..after_commit import after_commit
from ..appeals.models import Appeal
from .services import gift_of


def drop_after_commit(session, appeal_id: int | None) -> None:
    """Once `session` commits, drop the public pages of the appeal
    `appeal_id` (of every appeal when None)."""
    if appeal_id is None:
        _drop_slug_after_commit(session, None)
    else:
        _drop_slug_after_commit(session, select(Appeal.slug).where(Appeal.id == appeal_id))


def _drop_slug_after_commit(session, slug_query, slug: str | None = None) -> None:
    cache = current_app.extensions["fundraiser.public_cache"]
    if cache.backend is None:
        return
    if slug is None and slug_query is not None:
        slug = session.scalar(slug_query)
    if slug is None:
        after_commit(session, cache.clear)
    else:
        after_commit(session, lambda: cache.bump_appeals([slug]))


def _on_payment(sender, payment_id: int, session, **_kw):
    # A payment without a gift row (a saved-card pledge's charge): drop all.
    gift = gift_of(session, payment_id)
    _drop_slug_after_commit(session, None, gift.slug if gift is not None else None)


def _on_breaker(sender, appeal_id: int, session, **_kw):
    drop_after_commit(session, appeal_id)  # the page stops showing the card form


def connect() -> None:
    for signal in (signals.payment_succeeded, signals.payment_refunded, signals.payment_failed,
                   signals.payment_disputed, signals.payment_reinstated):
        signal.connect(_on_payment)
    signals.card_breaker_tripped.connect(_on_breaker)
