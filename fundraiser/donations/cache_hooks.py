"""The public cache hears of payment changes through here: a gift that
succeeds, is refunded, disputed or reinstated, and an appeal whose card gifts
pause, give that appeal's public pages (page, progress JSON) a new version
once the transaction commits, on every host sharing the cache
(fundraiser/cache.py). Staff edits drop everything (staff/blueprint.commit)."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy import select

from .. import signals
from ..after_commit import after_commit
from ..appeals.models import Appeal
from .services import gift_of


def drop_after_commit(session, appeal_id: int | None) -> None:
    """Once `session` commits, drop the public pages of the appeal
    `appeal_id` (of every appeal when None)."""
    _drop_slug_after_commit(session, lambda: None if appeal_id is None else session.scalar(
        select(Appeal.slug).where(Appeal.id == appeal_id)))


def _drop_slug_after_commit(session, find_slug: Callable[[], str | None]) -> None:
    """Once `session` commits, drop the pages of the appeal `find_slug()`
    names (of every appeal when None); nothing is looked up without a cache."""
    cache = current_app.extensions["fundraiser.public_cache"]
    if cache.backend is None:
        return
    slug = find_slug()
    if slug is None:
        after_commit(session, cache.clear)
    else:
        after_commit(session, lambda: cache.bump_appeals([slug]))


def _on_payment(sender, payment_id: int, session, **_kw):
    # A payment without a gift row (a saved-card pledge's charge): drop all.
    _drop_slug_after_commit(session, lambda: getattr(gift_of(session, payment_id), "slug", None))


def _on_breaker(sender, appeal_id: int, session, **_kw):
    drop_after_commit(session, appeal_id)  # the page stops showing the card form


def connect() -> None:
    for signal in (signals.payment_succeeded, signals.payment_refunded, signals.payment_failed,
                   signals.payment_disputed, signals.payment_reinstated):
        signal.connect(_on_payment)
    signals.card_breaker_tripped.connect(_on_breaker)
