"""Payment jobs: a stored webhook event applied by a worker (or inline,
right after the commit, without Redis)."""

from __future__ import annotations

import logging

from ..extensions import db
from ..jobs import job
from . import services

log = logging.getLogger(__name__)


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
