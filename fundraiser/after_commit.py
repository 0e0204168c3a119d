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
_RUN_KEY = "fundraiser.after_commit.run"


def after_commit(session, fn: Callable[[], None]) -> None:
    """`fn` runs once the session's transaction has committed and given its
    connection back to the pool. It must not use this session (prepare
    everything it needs before queueing it); it may open its own.

    Why after the connection is back: an inline job (no Redis) runs here in a
    session of its own. Run while the committed connection was still checked
    out (SQLAlchemy's `after_commit` comes before that), each request needed
    two connections at once, and a burst of webhooks (fifteen at once on
    SQLite's default pool) held every connection while waiting for a second:
    all of them waited out the pool's 30 s and answered 500 or 503."""
    session.info.setdefault(_KEY, []).append(fn)


@event.listens_for(Session, "after_commit")
def _commit_done(session):
    # Connections are still checked out here: run the actions at the end of
    # the transaction (below), which comes after they are released.
    if _KEY in session.info:
        session.info[_RUN_KEY] = session.info.pop(_KEY)


@event.listens_for(Session, "after_transaction_end")
def _run_committed(session, transaction):
    if transaction.parent is not None:  # a savepoint or subtransaction ended
        return
    for fn in session.info.pop(_RUN_KEY, []):
        try:
            fn()
        except Exception:  # noqa: BLE001 — the commit stands; say what failed
            log.exception("after-commit action %r failed", fn)


@event.listens_for(Session, "after_rollback")
def _drop_queued(session):
    session.info.pop(_KEY, None)
