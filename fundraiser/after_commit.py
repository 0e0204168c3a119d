"""Side effects that must happen only if the transaction commits.

An email sent inside a transaction that then rolls back tells a donor
something the database does not say (and a retried webhook would send it
again). `after_commit(session, fn)` queues `fn` to run once the session's
transaction has committed; a rollback drops the queue."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_KEY = "fundraiser.after_commit"


def after_commit(session, fn: Callable[[], None]) -> None:
    """`fn` runs inside the commit's after-event, where the session can emit no
    SQL: prepare everything it needs before queueing it."""
    session.info.setdefault(_KEY, []).append(fn)


@event.listens_for(Session, "after_commit")
def _run_queued(session):
    for fn in session.info.pop(_KEY, []):
        try:
            fn()
        except Exception:  # noqa: BLE001 — the commit stands; say what failed
            log.exception("after-commit action %r failed", fn)


@event.listens_for(Session, "after_rollback")
def _drop_queued(session):
    session.info.pop(_KEY, None)
