"""Payment jobs: stored webhook events applied by a worker (or inline, right
after the commit, without Redis).

With a queue, an acknowledged event asks for `apply_waiting_events`, and any
number of asks before a worker starts it make one job (jobs.enqueue_coalesced):
it applies every event waiting, oldest first, one transaction each. On
PostgreSQL a job that finds a second event waiting asks once more, so an
idle worker joins in (each helper does the same, until every worker is busy
or nothing waits); jobs running at once share the events between them (SKIP
LOCKED). A job per event cost more in RQ's own bookkeeping than in applying
the event."""

from __future__ import annotations

import logging
import time

from flask import g

from .. import jobs
from ..extensions import db
from ..jobs import job
from . import services

log = logging.getLogger(__name__)

DRAIN_SECONDS = 30  # then the job hands over to a new one (RQ's job timeout is 180 s)


@job
def apply_webhook_event(event_id: str) -> str | None:
    """Apply one stored event; None when it was applied already (a repeat
    job, or another worker got there first). A database error raises, the
    event stays `received`, and the queue retries it."""
    try:
        outcome = services.apply_stored_event(db.session, event_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("webhook %s: %s", event_id, outcome or "already applied")
    return outcome


@job
def apply_waiting_events() -> int:
    """Apply every stored event not applied yet; returns how many. Each is
    logged under the id of the request that stored it. An event that fails
    (a database error) is left `received` and passed over; the job then
    raises, so the queue retries it later, with back-off."""
    jobs.coalesced_started(apply_waiting_events)
    deadline = time.monotonic() + DRAIN_SECONDS
    own_request_id, failed, applied, helped = g.get("request_id"), [], 0, False
    while True:
        row_id = None
        try:
            row = services.take_waiting_event(db.session, skip=failed)
            if row is None:
                break
            row_id, event_id = row.id, row.event_id
            if applied == 1 and not helped and _shared(db.session):
                # More than one waiting: another worker may help (queued
                # once this transaction commits; one ask per job).
                helped = jobs.enqueue_coalesced(apply_waiting_events)
            g.request_id = row.request_id or own_request_id
            outcome = services.apply_event_row(db.session, row)
            db.session.commit()
            log.info("webhook %s: %s", event_id, outcome)
            applied += 1
        except Exception:
            db.session.rollback()
            if row_id is None:
                raise
            log.exception("webhook event row %s not applied; left for a retry", row_id)
            failed.append(row_id)
        finally:
            g.request_id = own_request_id
        if time.monotonic() >= deadline:
            jobs.enqueue_coalesced(apply_waiting_events)  # a new job goes on from here
            break
    db.session.rollback()
    if failed:
        raise RuntimeError(f"{len(failed)} webhook event(s) failed and wait for a retry")
    return applied


def _shared(session) -> bool:
    """Can two workers apply events at once? On PostgreSQL, yes (SKIP
    LOCKED); SQLite has one writer at a time, and a second worker would
    only wait for the lock."""
    return session.get_bind().dialect.name == "postgresql"
