"""Jobs: work that runs once the transaction that asked for it has committed.

With `REDIS_URL` set, `enqueue()` puts the job on an RQ queue when the
transaction commits, and `flask --app fundraiser worker` runs it; a job that
raises is retried with back-off (`JOB_RETRY_INTERVALS`), then kept among the
failed jobs that staff can see and retry. Without Redis (the embedded run and
the tests) the same function runs inline, right after the commit, so a caller
observes its effects at once.

Job functions take plain values (ids, not rows) and are decorated with
`@job`: each run gets a fresh app context (so its own database session), and
carries the request id of the request that queued it, for the logs. Mail
(receipts, letters) is `@mail_job` and waits on its own queue, so it never
delays money (webhook events, reconcile, charges).
"""

from __future__ import annotations

import functools
import logging
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, has_app_context

from .after_commit import after_commit
from .extensions import db

log = logging.getLogger(__name__)

QUEUE_NAME = "fundraiser"  # money first: webhook events, reconcile, charges, sweeps
MAIL_QUEUE_NAME = "fundraiser-mail"  # receipts (a PDF each), letters, statements
QUEUE_NAMES = (QUEUE_NAME, MAIL_QUEUE_NAME)  # what a worker takes by default, in this order
DEFAULT_RETRY_INTERVALS = (10, 60, 300)  # seconds before the 1st, 2nd, 3rd retry
COALESCE_SECONDS = 60  # an ask of enqueue_coalesced's whose job never started is forgotten

# The request id an inline run carries (a queued run has it in its job's meta).
_inline_request_id: ContextVar[str | None] = ContextVar("inline_request_id", default=None)
_worker_app = None  # set by `flask worker`; a bare `rq worker` makes its own
# fundraiser/__init__.py puts create_app here when the package is imported
# (as it is before any job runs), so this bottom-floor module never imports up.
app_factory = None


@dataclass
class Enqueued:
    """What `enqueue` did: a queued job's id, or an inline run's result."""

    job_id: str | None = None
    done: bool = False
    result: Any = None


def queue(app=None, name: str = QUEUE_NAME):
    """The app's RQ queue `name`, or None when no Redis is configured."""
    app = app or current_app._get_current_object()
    url = app.config.get("REDIS_URL") or ""
    if not url:
        return None
    known = app.extensions.setdefault("fundraiser.job_queues", {})
    if name not in known:
        import redis
        from rq import Queue

        connection = next(iter(known.values())).connection if known \
            else redis.Redis.from_url(url)
        known[name] = Queue(name, connection=connection)
    return known[name]


def queues(app=None) -> list:
    """Every queue, money first; empty without Redis."""
    found = [queue(app, name) for name in QUEUE_NAMES]
    return [q for q in found if q is not None]


def retry_policy(app):
    from rq import Retry

    intervals = list(app.config.get("JOB_RETRY_INTERVALS", DEFAULT_RETRY_INTERVALS))
    return Retry(max=len(intervals), interval=intervals) if intervals else None


def enqueue(func, *args, **kwargs) -> Enqueued:
    """Run the `@job` function `func(*args, **kwargs)` once the current
    transaction commits (at once when none is open): on its queue with Redis
    (the mail queue for a `@mail_job`), inline without. A failure to queue is
    logged, never undoes the commit."""
    return _enqueue(func, args, kwargs)


def _enqueue(func, args, kwargs) -> Enqueued:
    from . import logs

    app = current_app._get_current_object()
    handle = Enqueued()
    request_id = logs.current_request_id()
    rq_queue = queue(app, getattr(func, "queue_name", QUEUE_NAME))
    if rq_queue is not None:
        handle.job_id = uuid.uuid4().hex

    def dispatch():
        if rq_queue is None:
            _run_inline(handle, func, args, kwargs, request_id)
        else:
            _push(app, rq_queue, func, args, kwargs, handle.job_id, request_id)

    _after_commit(dispatch)
    return handle


def _after_commit(dispatch) -> None:
    session = db.session()
    if session.in_transaction():
        after_commit(session, dispatch)
    else:
        dispatch()


def _push(app, rq_queue, func, args, kwargs, job_id, request_id) -> None:
    # One round trip: RQ writes the job and pushes it in our pipeline
    # (MULTI/EXEC) instead of two of its own.
    pipe = rq_queue.connection.pipeline()
    rq_queue.enqueue(func, args=args, kwargs=kwargs, job_id=job_id,
                     retry=retry_policy(app), meta={"request_id": request_id},
                     failure_ttl=30 * 24 * 3600,
                     result_ttl=0,  # nothing reads a finished job: gone at once
                     pipeline=pipe)
    pipe.execute()


def _asked_key(rq_queue, func) -> str:
    return f"fundraiser:jobs:asked:{rq_queue.name}:{func.__qualname__}"


def enqueue_coalesced(func) -> bool:
    """Queue the `@job` function `func()` (no arguments) once the current
    transaction commits, unless it is queued already and no worker has
    started it: any number of asks before a worker takes it make one job,
    which does the work of them all (it calls `coalesced_started(func)`
    first, so an ask after that queues another). Redis only: returns False,
    doing nothing, without a queue. An ask is forgotten after
    COALESCE_SECONDS, in case its job was lost."""
    app = current_app._get_current_object()
    rq_queue = queue(app, getattr(func, "queue_name", QUEUE_NAME))
    if rq_queue is None:
        return False
    from . import logs

    request_id = logs.current_request_id()

    def dispatch():
        key = _asked_key(rq_queue, func)
        if rq_queue.connection.set(key, "1", nx=True, ex=COALESCE_SECONDS):
            try:
                _push(app, rq_queue, func, (), {}, uuid.uuid4().hex, request_id)
            except Exception:
                rq_queue.connection.delete(key)  # not queued: the next ask tries again
                raise

    _after_commit(dispatch)
    return True


def coalesced_started(func) -> None:
    """The job `func` has started: the next ask queues it again."""
    rq_queue = queue(name=getattr(func, "queue_name", QUEUE_NAME))
    if rq_queue is not None:
        rq_queue.connection.delete(_asked_key(rq_queue, func))


def _run_inline(handle: Enqueued, func, args, kwargs, request_id) -> None:
    token = _inline_request_id.set(request_id)
    try:
        handle.result = func(*args, **kwargs)
        handle.done = True
    except Exception:  # noqa: BLE001 — the commit stands; say what failed
        log.exception("job %s failed", getattr(func, "__qualname__", func))
    finally:
        _inline_request_id.reset(token)


def set_worker_app(app) -> None:
    global _worker_app
    _worker_app = app


def _app():
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        _worker_app = app_factory()
    return _worker_app


def _queued_request_id() -> str | None:
    from rq import get_current_job

    current = get_current_job()
    return current.meta.get("request_id") if current is not None else None


def job(fn):
    """Make `fn` a job function: it runs in a fresh app context (its own
    session, removed afterwards) with the request id that queued it."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        request_id = _inline_request_id.get() or _queued_request_id()
        with _app().app_context():
            if request_id:
                g.request_id = request_id
            return fn(*args, **kwargs)

    return run


def mail_job(fn):
    """A `@job` that goes on the mail queue: a burst of gifts queues their
    receipts' work there, and no receipt delays the next webhook event or any
    other money job, however many wait. A worker takes money first
    (QUEUE_NAMES); a mail-only worker can run apart, at a lower CPU priority
    (Procfile)."""
    run = job(fn)
    run.queue_name = MAIL_QUEUE_NAME
    return run


@mail_job
def send_email(subject: str, body: str, to: list[str], what: str = "") -> None:
    """Mail as a job: an SMTP failure raises, so the queue retries it."""
    from flask_mailman import EmailMessage

    EmailMessage(subject=subject, body=body, to=to).send()
    log.info("mail sent: %s", what or subject)
