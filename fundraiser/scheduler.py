"""`flask --app fundraiser worker` and `flask --app fundraiser scheduler`.

The worker runs queued jobs (RQ). The scheduler queues the periodic work:
`reconcile` every 10 minutes, `charge-pledges` once an appeal with card
pledges has closed, sweeps for the webhook events and the receipts whose job
was lost, and (hourly, when there are any) the reminder to pledgers whose
charge waits (or, after PLEDGE_LAPSE_AFTER_DAYS, its lapse) and the purge of
co-sign requests never confirmed.

Every host may start a scheduler; exactly one works at a time. It holds a
Redis lock with a timeout and renews it on every tick; the others wait, and
one takes over within `LOCK_SECONDS` when the holder dies. When each task
last ran is kept in Redis too, so a scheduler taking over does not run
everything again at once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, replace

import click
from flask import current_app
from flask.cli import with_appcontext

from . import jobs, tasks
from .donations import receipts

log = logging.getLogger(__name__)

LOCK_NAME = "fundraiser:scheduler:lock"
LOCK_SECONDS = 30  # a dead scheduler's lock frees itself after this
TICK_SECONDS = 5
PENDING = {"queued", "started", "scheduled", "deferred"}


@dataclass(frozen=True)
class Task:
    name: str
    every: int  # seconds
    func: object
    when: object = None  # a callable: only queue the job when it answers true


TASKS = (
    Task("reconcile", 600, tasks.reconcile_job),
    Task("charge-pledges", 60, tasks.charge_pledges_job, when=lambda: bool(tasks.due_pledges())),
    Task("requeue-unapplied-events", 300, tasks.requeue_unapplied_events),
    Task("requeue-overdue-receipts", 300, receipts.prepare_waiting_receipts,
         when=lambda: bool(tasks.overdue_receipts())),
    Task("remind-waiting-pledgers", 3600, tasks.remind_waiting_pledgers_job,
         when=lambda: bool(tasks.pledges_to_lapse() or tasks.pledgers_to_remind())),
    Task("purge-cosign-requests", 3600, tasks.purge_cosign_requests_job,
         when=lambda: bool(tasks.cosign_requests_to_purge())),
)


def configured_tasks(config) -> tuple[Task, ...]:
    """TASKS with the sweep's interval from WEBHOOK_SWEEP_SECONDS."""
    every = {"requeue-unapplied-events": config.get("WEBHOOK_SWEEP_SECONDS")}
    return tuple(replace(t, every=int(every[t.name])) if every.get(t.name) else t
                 for t in TASKS)


class Scheduler:
    def __init__(self, connection, *, lock_seconds: int = LOCK_SECONDS, tasks=TASKS):
        self.redis = connection
        self.tasks = tasks
        # thread_local=False: the token lives on this object, whatever thread renews it
        self.lock = connection.lock(LOCK_NAME, timeout=lock_seconds, thread_local=False)

    def hold_lock(self) -> bool:
        """Take the lock, or renew it if this scheduler holds it already.
        False: another scheduler is working (or took over from this one)."""
        from redis.exceptions import LockError

        if self.lock.local.token is not None:
            try:
                self.lock.reacquire()
                return True
            except LockError:
                log.warning("scheduler lock lost (expired); another scheduler may hold it")
                self.lock.local.token = None
        return self.lock.acquire(blocking=False)

    def release(self) -> None:
        from redis.exceptions import LockError

        try:
            self.lock.release()
        except LockError:
            pass  # expired or never held

    def tick(self, now: float | None = None) -> list[str]:
        """Queue what is due, if this scheduler holds the lock. Returns the
        names of the tasks queued."""
        if not self.hold_lock():
            return []
        now = time.time() if now is None else now
        queued = []
        for task in self.tasks:
            last = float(self.redis.get(f"fundraiser:scheduler:last:{task.name}") or 0)
            if now - last < task.every or self._still_pending(task):
                continue
            self.redis.set(f"fundraiser:scheduler:last:{task.name}", now)
            if task.when is not None and not task.when():
                continue
            handle = jobs.enqueue(task.func)
            self.redis.set(f"fundraiser:scheduler:job:{task.name}", handle.job_id or "")
            log.info("scheduler queued %s (job %s)", task.name, handle.job_id)
            queued.append(task.name)
        return queued

    def _still_pending(self, task: Task) -> bool:
        """The last run is still waiting or running: never two at once (two
        charge-pledges runs could both charge a pledge's card)."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        job_id = self.redis.get(f"fundraiser:scheduler:job:{task.name}")
        if not job_id:
            return False
        try:
            return Job.fetch(job_id.decode(), connection=self.redis).get_status() in PENDING
        except NoSuchJobError:
            return False

    def run(self, stop: threading.Event, tick_seconds: float = TICK_SECONDS) -> None:
        held = None  # log the first state, whichever it is
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 — Redis or the database blinked; try again
                    log.exception("scheduler tick failed")
                now_held = self.lock.local.token is not None
                if now_held != held:
                    log.info("scheduler %s", "active (holds the lock)" if now_held
                             else "standing by (another scheduler holds the lock)")
                    held = now_held
                stop.wait(tick_seconds)
        finally:
            self.release()


def _require_queue():
    queue = jobs.queue()
    if queue is None:
        raise click.ClickException(
            "REDIS_URL is not set. Without Redis, jobs run inline in the app; run "
            "`flask reconcile` and `flask charge-pledges` from cron instead (README).")
    return queue


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@click.option("--queue", "names", multiple=True, type=click.Choice(jobs.QUEUE_NAMES),
              help="Take jobs from this queue only (repeatable). Default: every queue, "
                   f"{jobs.QUEUE_NAME} (money) before {jobs.MAIL_QUEUE_NAME}.")
@with_appcontext
def worker_command(burst, names):
    """Run queued jobs (webhook events, receipts, reconcile…) until stopped."""
    from rq import SimpleWorker

    queue = _require_queue()
    taken = [jobs.queue(name=name) for name in jobs.QUEUE_NAMES if name in names] \
        if names else jobs.queues()
    jobs.set_worker_app(current_app._get_current_object())
    # SimpleWorker runs jobs in this process: they are short database work,
    # and a fork per job would cost a new database connection each time.
    # with_scheduler: this worker also moves retries (back-off) back to the
    # queue when due; RQ lets one worker per queue do it at a time.
    worker = SimpleWorker(taken, connection=queue.connection)
    worker.work(burst=burst, with_scheduler=True)


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Queue reconcile every 10 minutes and charge-pledges when an appeal
    closes; one scheduler works at a time, whatever the number of hosts."""
    queue = _require_queue()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    Scheduler(queue.connection, tasks=configured_tasks(current_app.config)).run(stop)
