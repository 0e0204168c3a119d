"""The scheduler: exactly one works even when several hosts start one (a
Redis lock, renewed; taken over when its holder dies), it queues reconcile
every 10 minutes, and charges card pledges once their appeal has closed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from rq import SimpleWorker
from rq.job import Job
from sqlalchemy import select

from fundraiser import jobs
from fundraiser.extensions import db
from fundraiser.matching.models import CARD_SAVED, PLEDGE_ACTIVE, PLEDGE_CLOSED, MatchPledge
from fundraiser.scheduler import LOCK_NAME, Scheduler
from tests import support
from tests.conftest import REDIS_JOBS_URL
from tests.factories import create_appeal

T0 = 1_900_000_000.0


@pytest.fixture
def app(queued_app):
    return queued_app


def run_burst_worker():
    db.session.rollback()
    queue = jobs.queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def queued_functions():
    queue = jobs.queue()
    return sorted(job.func_name.rsplit(".", 1)[1] for job in queue.get_jobs())


def test_of_two_schedulers_one_works_until_it_stops(app, redis_jobs):
    first, second = Scheduler(redis_jobs), Scheduler(redis_jobs)
    assert first.tick(now=T0) == ["reconcile", "requeue-unapplied-events"]
    assert second.tick(now=T0) == []
    assert second.tick(now=T0 + 700) == []  # due again, but the first holds the lock
    assert queued_functions() == ["reconcile_job", "requeue_unapplied_events"]

    run_burst_worker()
    first.release()  # the first host stops
    assert second.tick(now=T0 + 700) == ["reconcile", "requeue-unapplied-events"]
    assert first.tick(now=T0 + 700) == []
    # Not due again before ten minutes have passed since its last run.
    run_burst_worker()
    assert second.tick(now=T0 + 1200) == ["requeue-unapplied-events"]
    assert second.tick(now=T0 + 1300) == ["reconcile"]


def test_a_dead_schedulers_lock_expires_and_another_takes_over(app, redis_jobs):
    dying, standby = Scheduler(redis_jobs, lock_seconds=1), Scheduler(redis_jobs)
    assert dying.tick(now=T0) != []
    assert standby.tick(now=T0) == []
    deadline = time.monotonic() + 30
    while redis_jobs.exists(LOCK_NAME):  # the dying one stops renewing
        assert time.monotonic() < deadline
        time.sleep(0.2)
    run_burst_worker()
    assert standby.tick(now=T0 + 601) == ["reconcile", "requeue-unapplied-events"]
    assert dying.tick(now=T0 + 1300) == []  # it comes back: the lock is not its own any more


def test_a_last_run_still_waiting_is_not_queued_twice(app, redis_jobs):
    scheduler = Scheduler(redis_jobs)
    assert "reconcile" in scheduler.tick(now=T0)
    assert scheduler.tick(now=T0 + 1800) == []  # no worker ran them yet
    assert queued_functions() == ["reconcile_job", "requeue_unapplied_events"]


def test_card_pledges_are_charged_once_their_appeal_has_closed(app, redis_jobs):
    appeal = create_appeal(db.session, status="closed")
    pledge = MatchPledge(appeal_id=appeal.id, pledger_name="Dana", pledger_email="d@example.org",
                         amount_minor=4000, remaining_minor=4000, currency="USD",
                         mode=CARD_SAVED, status=PLEDGE_ACTIVE)
    db.session.add(pledge)
    db.session.commit()
    pledge_id = pledge.id

    assert "charge-pledges" in Scheduler(redis_jobs).tick(now=T0)
    run_burst_worker()
    # Nothing was unlocked: the pledge closes with nothing to charge.
    assert db.session.scalar(select(MatchPledge.status).where(MatchPledge.id == pledge_id)) \
        == PLEDGE_CLOSED


def test_two_scheduler_processes_queue_reconcile_once(app, redis_jobs, database_url, tmp_path):
    db.session.rollback()
    logs = [tmp_path / "scheduler-a.log", tmp_path / "scheduler-b.log"]
    files = [log.open("w") for log in logs]
    processes = [subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "fundraiser", "scheduler"], cwd=support.ROOT,
        env=support.worker_env(database_url, REDIS_JOBS_URL), stdout=subprocess.DEVNULL,
        stderr=f) for f in files]
    try:
        deadline = time.monotonic() + 120
        while not all("scheduler active" in log.read_text() or "standing by" in log.read_text()
                      for log in logs):
            assert time.monotonic() < deadline, [log.read_text()[-2000:] for log in logs]
            assert all(p.poll() is None for p in processes)
            time.sleep(0.2)
    finally:
        for p in processes:
            p.send_signal(signal.SIGTERM)
        for p in processes:
            p.wait(timeout=60)
        for f in files:
            f.close()
    texts = [log.read_text() for log in logs]
    assert sorted("scheduler active" in text for text in texts) == [False, True]
    reconciles = [job for job in jobs.queue().get_jobs()
                  if job.func_name.endswith("reconcile_job")]
    assert len(reconciles) == 1
    assert Job.exists(reconciles[0].id, connection=redis_jobs)
    assert not redis_jobs.exists(LOCK_NAME)  # released on a clean stop
