"""Jobs on a real Redis (db 5) and RQ workers: a webhook is acknowledged
before it is applied, a worker applies it exactly once (twice posted, two
workers, a worker killed mid-queue), and the request id travels with it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fundraiser import jobs, tasks
from fundraiser.extensions import db
from fundraiser.payments import states
from fundraiser.payments.jobs import apply_waiting_events
from fundraiser.payments.models import Payment, PaymentStatusChange, WebhookEvent
from tests import support
from tests.conftest import REDIS_JOBS_URL, _FreshContextClient, _pg_url
from tests.factories import create_appeal, create_donation


@pytest.fixture
def app(queued_app):
    return queued_app


@pytest.fixture
def client(app):
    app.test_client_class = _FreshContextClient
    return app.test_client()


def make_gifts(n):
    appeal = create_appeal(db.session)
    gifts = [create_donation(db.session, appeal, email=f"donor{i}@example.org")
             for i in range(n)]
    db.session.commit()
    return [(g.payment_id, g.payment.reference) for g in gifts]


def succeeded_event(n, reference):
    obj = support.intent_object(f"pi_{n}", "succeeded", 2500, "USD", reference)
    return support.stripe_event("payment_intent.succeeded", obj, f"evt_{n}")


def post(client, app, payload, request_id=None):
    headers = {"Content-Type": "application/json",
               "Stripe-Signature": support.sign(payload, app.config["STRIPE_WEBHOOK_SECRET"])}
    if request_id:
        headers["X-Request-Id"] = request_id
    return client.post("/webhooks/stripe", data=payload, headers=headers)


def run_burst_worker(**work):
    support.run_burst_worker(db, **work)


def mail_queue():
    return jobs.queue(name=jobs.MAIL_QUEUE_NAME)


def times_succeeded(payment_id):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(PaymentStatusChange).where(
        PaymentStatusChange.payment_id == payment_id,
        PaymentStatusChange.to_status == states.SUCCEEDED))


def receipts(app):
    return app.extensions["mailman"].outbox


def test_a_webhook_is_acknowledged_before_it_is_applied_then_applied_once(client, app):
    [(payment_id, reference)] = make_gifts(1)
    payload = succeeded_event(1, reference)
    first = post(client, app, payload)
    again = post(client, app, payload)  # the processor's retry, before any worker ran
    assert first.status_code == 200 and first.get_json()["outcome"] == "queued"
    assert again.status_code == 200 and again.get_json()["outcome"] == "queued"

    db.session.rollback()
    assert db.session.get(Payment, payment_id).status == states.CREATED
    assert db.session.scalar(select(WebhookEvent.outcome)) == "received"
    assert jobs.queue().count == 1  # one job applies every event waiting

    run_burst_worker()
    assert db.session.get(Payment, payment_id).status == states.SUCCEEDED
    assert times_succeeded(payment_id) == 1
    assert db.session.scalar(select(WebhookEvent.outcome)) == "applied"
    assert [m.to for m in receipts(app)] == [["donor0@example.org"]]  # a job too

    late = post(client, app, payload)  # a retry after it was applied: nothing queued
    assert late.get_json()["outcome"] == "duplicate" and jobs.queue().count == 0


def test_a_webhook_event_is_applied_before_the_receipts_queued_ahead_of_it(client, app):
    # Money before mail: a burst of gifts leaves their receipts waiting on
    # the mail queue; a new event is taken first, so the gift is counted.
    [(first_id, first_ref), (second_id, second_ref)] = make_gifts(2)
    post(client, app, succeeded_event(1, first_ref))
    run_burst_worker(max_jobs=1)
    assert mail_queue().count == 1 and jobs.queue().count == 0  # the first gift's receipt
    waiting = mail_queue().get_job_ids()

    post(client, app, succeeded_event(2, second_ref))
    assert jobs.queue().count == 1
    run_burst_worker(max_jobs=1)
    db.session.rollback()
    assert db.session.get(Payment, second_id).status == states.SUCCEEDED
    # the receipt job still waits, untouched; it prepares the second's too
    assert mail_queue().get_job_ids() == waiting
    assert not getattr(app.extensions["mailman"], "outbox", [])  # nothing sent yet
    run_burst_worker()
    assert sorted(m.to[0] for m in receipts(app)) == ["donor0@example.org", "donor1@example.org"]


def test_an_event_that_fails_is_passed_over_and_retried_and_the_rest_are_applied(
        client, app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from fundraiser.payments import services

    gifts = make_gifts(3)
    for n, (_pid, reference) in enumerate(gifts):
        post(client, app, succeeded_event(n, reference))
    apply_row, tries = services.apply_event_row, []

    def once_busy(session, row):
        tries.append(row.event_id)
        if tries.count("evt_1") == 1 and row.event_id == "evt_1":
            raise OperationalError("UPDATE payments", {}, Exception("lock timeout"))
        return apply_row(session, row)

    monkeypatch.setattr(services, "apply_event_row", once_busy)
    run_burst_worker()  # the job raises; its retry (at once here) applies evt_1
    assert tries == ["evt_0", "evt_1", "evt_2", "evt_1"]  # not stuck on the one that failed
    for payment_id, _ref in gifts:
        assert times_succeeded(payment_id) == 1
    assert set(db.session.scalars(select(WebhookEvent.outcome))) == {"applied"}
    assert jobs.queue().failed_job_registry.count == 0


def test_a_long_run_of_events_is_handed_from_job_to_job(client, app, monkeypatch):
    """RQ ends a job after its timeout: a job applying events hands over to
    a new one after DRAIN_SECONDS (here at once, so one event each)."""
    from fundraiser.payments import jobs as payment_jobs

    monkeypatch.setattr(payment_jobs, "DRAIN_SECONDS", 0)
    gifts = make_gifts(3)
    for n, (_pid, reference) in enumerate(gifts):
        post(client, app, succeeded_event(n, reference))
    assert jobs.queue().count == 1
    run_burst_worker(max_jobs=1)
    assert [times_succeeded(pid) for pid, _ref in gifts] == [1, 0, 0]
    assert jobs.queue().count == 1  # the next one, queued by the first
    run_burst_worker()
    assert [times_succeeded(pid) for pid, _ref in gifts] == [1, 1, 1]
    assert jobs.queue().count == 0


def test_a_money_worker_leaves_the_receipts_to_a_mail_worker(client, app, database_url):
    """The Procfile's two worker lines, run as written: `worker` applies the
    events and sends nothing, `mailer` sends the receipts. On a host that
    also serves the web, both yield the CPU to it: the money worker at nice
    19, the mailer in the idle class, below the money worker."""
    gifts = make_gifts(3)
    for n, (_pid, reference) in enumerate(gifts):
        assert post(client, app, succeeded_event(n, reference)).status_code == 200
    db.session.rollback()
    money = procfile_process("worker", database_url)
    assert scheduling(money.pid) == (19, os.SCHED_OTHER)
    out, err = money.communicate(timeout=240)
    assert money.returncode == 0, err[-3000:]
    for payment_id, _ref in gifts:
        assert times_succeeded(payment_id) == 1
    assert "Subject:" not in out and mail_queue().count == 1  # one job for the 3 receipts
    db.session.rollback()  # the test's own transaction ends first
    mailer = procfile_process("mailer", database_url)
    assert scheduling(mailer.pid)[1] == os.SCHED_IDLE
    out, err = mailer.communicate(timeout=240)
    assert mailer.returncode == 0, err[-3000:]
    assert out.count("Subject: Thank you for your gift") == 3, err[-3000:]
    assert mail_queue().count == 0


def procfile_process(name, database_url):
    """The Procfile's line `name`, until its queue is empty (--burst)."""
    return subprocess.Popen(
        [*support.procfile_command(name), "--burst"], cwd=support.ROOT,
        env=support.worker_env(database_url, REDIS_JOBS_URL), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def scheduling(pid):
    """(nice, scheduling policy) of a process once it runs Python, i.e. once
    the Procfile's `nice` or `chrt` has set them and handed over."""
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] != sys.executable.encode():
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.01)
    return os.getpriority(os.PRIO_PROCESS, pid), os.sched_getscheduler(pid)


def worker_process(database_url, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "fundraiser", "worker", *popen.pop("args", [])],
        cwd=support.ROOT, env=support.worker_env(database_url, REDIS_JOBS_URL),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_two_workers_apply_each_event_exactly_once(client, app, database_url):
    gifts = make_gifts(12)
    for n, (_pid, reference) in enumerate(gifts):
        payload = succeeded_event(n, reference)
        for _ in range(2):  # every event delivered twice: two jobs for each
            assert post(client, app, payload, request_id=f"req-{n:04d}-abcdef").status_code \
                == 200
    assert jobs.queue().count == 1  # one job for every event waiting
    for _ in range(2):  # two more (the sweep's, a late ask's): three jobs on two workers
        jobs.enqueue(apply_waiting_events)
    db.session.commit()
    assert jobs.queue().count == 3

    db.session.rollback()
    workers = [worker_process(database_url, args=["--burst"]) for _ in range(2)]
    outputs = [w.communicate(timeout=240) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs[0][1][-3000:]

    for payment_id, _ref in gifts:
        assert times_succeeded(payment_id) == 1
    # Each stored event says what its one application did (a second run
    # would have overwritten it with "repeat").
    assert set(db.session.scalars(select(WebhookEvent.outcome))) == {"applied"}
    mail = "".join(out for out, _err in outputs)
    assert mail.count("Subject: Thank you for your gift") == 12  # one receipt per gift
    # The request id of the delivery travels with the job into the worker's logs.
    lines = [json.loads(line) for _out, err in outputs for line in err.splitlines()
             if line.startswith("{")]
    applied = [entry for entry in lines if entry["message"].startswith("webhook evt_3:")
               and entry["message"].endswith(": applied")]
    assert [entry["request_id"] for entry in applied] == ["req-0003-abcdef"]


def test_a_backlog_of_events_is_shared_by_every_idle_worker(client, app, database_url):
    """Events waiting when their job was lost (Redis restarted) come back as
    one job from the scheduler's sweep: on PostgreSQL the worker that takes
    it asks for help, and an idle worker shares the backlog; each event is
    applied once."""
    from rq import Worker

    gifts = make_gifts(120)
    for n, (_pid, reference) in enumerate(gifts):
        assert post(client, app, succeeded_event(n, reference)).status_code == 200
    queue = jobs.queue()
    queue.empty()  # the job is lost; the events wait in the database

    workers = [worker_process(database_url) for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        while sum(w.get_state() == "idle" for w in Worker.all(connection=queue.connection)) < 2:
            assert time.monotonic() < deadline, "the workers never came up"
            assert all(w.poll() is None for w in workers), workers[0].stderr.read()[-3000:]
            time.sleep(0.1)
        db.session.rollback()
        assert tasks.requeue_unapplied_events(older_than_seconds=0) == 120  # in one job
        while db.session.scalar(select(func.count()).select_from(WebhookEvent)
                                .where(WebhookEvent.outcome == "received")):
            assert time.monotonic() < deadline, "the backlog was never applied"
            db.session.rollback()
            time.sleep(0.2)
    finally:
        for w in workers:
            w.terminate()
        logs = [w.communicate(timeout=60)[1] for w in workers]
    for payment_id, _ref in gifts:
        assert times_succeeded(payment_id) == 1
    applied = [sum(1 for line in log.splitlines() if line.startswith("{")
                   and json.loads(line)["message"].endswith(": applied")) for log in logs]
    assert sum(applied) == 120
    if not database_url.startswith("sqlite"):  # SQLite: one writer at a time, no help
        assert min(applied) > 0, applied  # both worked on it


def hold_database_lock(database_url):
    """Another transaction holding the lock every event application needs."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        return conn
    import psycopg

    conn = psycopg.connect(_pg_url().replace("postgresql+psycopg://", "postgresql://"))
    conn.execute("LOCK TABLE webhook_events IN EXCLUSIVE MODE")
    return conn


def test_a_worker_killed_mid_queue_loses_no_event(client, app, database_url):
    gifts = make_gifts(8)
    for n, (_pid, reference) in enumerate(gifts):
        assert post(client, app, succeeded_event(n, reference)).status_code == 200
    queue = jobs.queue()

    db.session.rollback()
    lock = hold_database_lock(database_url)
    # Its own session, so the kill takes the work horse RQ forked as well as
    # the worker (a horse left alive would hold the pipes open).
    worker = worker_process(database_url, start_new_session=True)
    try:
        # The worker takes the first event and waits for the database lock.
        deadline = time.monotonic() + 60
        while queue.started_job_registry.count == 0:
            assert time.monotonic() < deadline, "the worker never started a job"
            time.sleep(0.1)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.communicate()
        lock.rollback()
        lock.close()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)
                             .where(WebhookEvent.outcome == "received")) == 8
    assert queue.count == 0  # one job for all eight, and it died with its worker

    # The scheduler's sweep sees the stored, unapplied events and queues a
    # job for them; a new worker applies every event once.
    db.session.rollback()
    assert tasks.requeue_unapplied_events(older_than_seconds=0) == 8
    again = worker_process(database_url, args=["--burst"])
    _out, err = again.communicate(timeout=240)
    assert again.returncode == 0, err[-3000:]
    for payment_id, _ref in gifts:
        assert times_succeeded(payment_id) == 1
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)
                             .where(WebhookEvent.outcome == "applied")) == 8


def test_with_a_queue_the_receipt_is_numbered_outside_the_gift_transaction_and_once(app):
    """The transaction that records a success holds the pool's lock: with a
    queue it only asks for the receipt; a job numbers and words it, and a
    second ask (a webhook and the browser both) sends nothing twice."""
    from fundraiser.donations import receipts as receipt_jobs
    from fundraiser.donations.models import Donation
    from fundraiser.payments import services as payments

    [(payment_id, _), (other_id, _)] = make_gifts(2)
    payments.transition_to(db.session, payment_id, states.SUCCEEDED)
    receipt_jobs.send_receipt(db.session, payment_id)  # asked twice
    db.session.commit()
    gift = db.session.scalar(select(Donation).where(Donation.payment_id == payment_id))
    assert gift.receipt_number is None and gift.receipt_sent_at is None
    assert mail_queue().count == 1  # the two asks make one job; no mail yet

    run_burst_worker()
    gift = db.session.scalar(select(Donation).where(Donation.payment_id == payment_id))
    assert gift.receipt_number == 1 and gift.receipt_sent_at is not None
    assert [m.to for m in receipts(app)] == [["donor0@example.org"]]

    payments.transition_to(db.session, other_id, states.SUCCEEDED)
    db.session.commit()
    run_burst_worker()
    assert db.session.scalar(select(Donation.receipt_number)
                             .where(Donation.payment_id == other_id)) == 2
    assert len(receipts(app)) == 2


def succeed(payment_ids):
    """Each payment succeeds in a transaction of its own, as a burst of
    webhooks would apply them (each asks for its receipt)."""
    from fundraiser.payments import services as payments

    for payment_id in payment_ids:
        payments.transition_to(db.session, payment_id, states.SUCCEEDED)
        db.session.commit()


def receipt_numbers_of(payment_ids):
    from fundraiser.donations.models import Donation

    db.session.rollback()
    return [db.session.scalar(select(Donation.receipt_number)
                              .where(Donation.payment_id == pid)) for pid in payment_ids]


def test_a_burst_of_gifts_asks_for_one_receipt_job_which_sends_each_receipt_once(app):
    gifts = [pid for pid, _ref in make_gifts(6)]
    succeed(gifts)
    assert mail_queue().count == 1  # six asks before a mailer started: one job
    assert receipt_numbers_of(gifts) == [None] * 6

    run_burst_worker()
    assert receipt_numbers_of(gifts) == [1, 2, 3, 4, 5, 6]  # oldest first
    assert sorted(m.to[0] for m in receipts(app)) == [f"donor{i}@example.org" for i in range(6)]
    assert mail_queue().count == 0

    succeed(gifts[:2])  # repeats: already succeeded, nothing asked, nothing sent
    run_burst_worker()
    assert len(receipts(app)) == 6


def test_a_receipt_that_fails_is_passed_over_and_sent_once_on_the_retry(app, monkeypatch):
    from fundraiser.donations import receipt_numbers

    gifts = [pid for pid, _ref in make_gifts(3)]
    real_assign = receipt_numbers.assign
    broken = {"on": True}

    def assign(session, donation_id):
        from fundraiser.donations.models import Donation

        if broken["on"] and session.get(Donation, donation_id).payment_id == gifts[1]:
            raise RuntimeError("the counter's row is away")
        return real_assign(session, donation_id)

    monkeypatch.setattr(receipt_numbers, "assign", assign)
    app.config["JOB_RETRY_INTERVALS"] = [3600]  # the retry waits: this test runs it itself
    succeed(gifts)
    run_burst_worker()
    assert receipt_numbers_of(gifts) == [1, None, 2]  # the others were not held up
    assert sorted(m.to[0] for m in receipts(app)) == ["donor0@example.org", "donor2@example.org"]
    assert mail_queue().count == 0  # the job failed; its retry waits an hour

    broken["on"] = False
    db.session.rollback()  # no transaction open: queued at once
    jobs.enqueue(receipt_jobs().prepare_waiting_receipts)  # as the retry or the sweep would
    run_burst_worker()
    assert receipt_numbers_of(gifts) == [1, 3, 2]
    assert sorted(m.to[0] for m in receipts(app)) == [
        "donor0@example.org", "donor1@example.org", "donor2@example.org"]


def receipt_jobs():
    from fundraiser.donations import receipts as receipt_jobs

    return receipt_jobs


def test_a_receipt_whose_job_was_lost_is_found_by_the_schedulers_sweep(app, redis_jobs):
    from fundraiser.scheduler import Scheduler

    gifts = [pid for pid, _ref in make_gifts(2)]
    succeed(gifts)
    mail_queue().empty()  # Redis lost the job (restarted without its data)
    scheduler = Scheduler(redis_jobs)
    app.config["RECEIPT_SWEEP_AGE_SECONDS"] = 3600
    assert tasks.overdue_receipts() == []  # waiting, but not for long: not yet swept
    assert "requeue-overdue-receipts" not in scheduler.tick(now=1_900_000_000)

    app.config["RECEIPT_SWEEP_AGE_SECONDS"] = 0
    assert tasks.overdue_receipts() == gifts
    assert "requeue-overdue-receipts" in scheduler.tick(now=1_900_000_400)  # 5 minutes on
    run_burst_worker()
    assert receipt_numbers_of(gifts) == [1, 2]
    assert len(receipts(app)) == 2
    assert tasks.overdue_receipts() == []


def test_two_mailers_at_once_send_each_receipt_once_with_numbers_in_a_row(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: a second mailer would only wait")
    gifts = [pid for pid, _ref in make_gifts(24)]
    succeed(gifts)
    errors = support.in_threads(app, db, lambda _k: receipt_jobs().prepare_waiting_receipts(),
                                [0, 1])
    assert errors == []
    assert sorted(receipt_numbers_of(gifts)) == list(range(1, 25))
    run_burst_worker()  # the mail they queued
    assert sorted(m.to[0] for m in receipts(app)) == sorted(
        f"donor{i}@example.org" for i in range(24))


def test_receipts_go_in_batches_so_money_jobs_are_taken_between_them(app, monkeypatch):
    from fundraiser.donations import receipts as receipt_jobs

    monkeypatch.setattr(receipt_jobs, "BATCH", 2)
    gifts = [pid for pid, _ref in make_gifts(5)]
    succeed(gifts)
    run_burst_worker(max_jobs=1)  # one receipt job: two receipts, then it asks again
    assert receipt_numbers_of(gifts) == [1, 2, None, None, None]
    assert mail_queue().count == 3  # two receipts' mail, and the next batch behind them
    db.session.rollback()  # no transaction open: queued at once
    jobs.enqueue(apply_waiting_events)  # money arrives meanwhile
    assert jobs.queue().count == 1
    run_burst_worker(max_jobs=1)
    assert jobs.queue().count == 0 and mail_queue().count == 3  # taken first
    run_burst_worker()
    assert receipt_numbers_of(gifts) == [1, 2, 3, 4, 5]
    assert len(receipts(app)) == 5
