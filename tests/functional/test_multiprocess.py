"""The production shape (issue 17), as subprocesses on 127.0.0.1: two
gunicorn app processes (A and B), one RQ worker and the scheduler, against
one PostgreSQL and one Redis (jobs, rate limits and the public cache), with
localstripe for the card. Every process gets the same environment, as every
host would.

- a gift completed through A is counted on B's progress JSON, which B had
  cached for an hour (the shared cache's versioned keys);
- a webhook delivered to both apps is applied once, by the worker;
- a rate limit is shared: failed staff logins on A and B count together;
- a worker killed with SIGKILL mid-job loses no event: the scheduler's sweep
  queues it again and a new worker applies it, once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest
import requests
from rq import Queue
from sqlalchemy import func, select

from fundraiser import jobs
from fundraiser.payments import states
from fundraiser.payments.models import Payment, PaymentStatusChange, WebhookEvent
from tests import support
from tests.conftest import PG_URL, REDIS_JOBS_URL
from tests.factories import create_appeal, create_donation

SECRET = "whsec_multiprocess"
SLUG = "many-hosts"


@pytest.fixture
def postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("the production shape runs on PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def shape_env(localstripe):
    return support.worker_env(
        PG_URL, REDIS_JOBS_URL, STRIPE_API_BASE=localstripe, STRIPE_WEBHOOK_SECRET=SECRET,
        SECRET_KEY="multiprocess-secret", PUBLIC_CACHE_SECONDS="3600",
        STAFF_LOGIN_LIMIT_ADDRESS="4 per minute", WEBHOOK_SWEEP_SECONDS="2",
        WEBHOOK_SWEEP_AGE_SECONDS="1", WEB_CONCURRENCY="1", GUNICORN_TIMEOUT="60")


class Processes:
    """Subprocesses in their own sessions (so a kill takes their children),
    output to files; each is killed and waited for, whatever happens."""

    def __init__(self, env, logdir):
        self.env, self.logdir, self.running = env, logdir, {}

    def start(self, name, *args, **env):
        log = open(self.logdir / f"{name}.log", "w")  # noqa: SIM115 — closed in kill()
        proc = subprocess.Popen(args, cwd=support.ROOT, env={**self.env, **env},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.running[name] = (proc, log)
        return proc

    def app(self, name):
        port = support.free_port()
        self.start(name, sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                   "fundraiser:create_app()", BIND=f"127.0.0.1:{port}",
                   APP_URL=f"http://127.0.0.1:{port}")
        return f"http://127.0.0.1:{port}"

    def flask(self, name, command):
        return self.start(name, sys.executable, "-m", "flask", "--app", "fundraiser", command)

    def kill(self, name):
        proc, log = self.running.pop(name)
        try:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        finally:
            proc.communicate(timeout=30)
            log.close()

    def output(self, name):
        return (self.logdir / f"{name}.log").read_text()

    def close(self):
        for name in list(self.running):
            self.kill(name)


def until(check, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.1)


def progress(base):
    return requests.get(f"{base}/api/v1/appeals/{SLUG}", timeout=10).json()


def csrf_token(html):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def give_through(base, localstripe):
    """A donor's card gift through one app, as the browser does it."""
    with requests.Session() as browser:
        page = browser.get(f"{base}/appeals/{SLUG}", timeout=10)
        token = support.form_token(browser, page, base)
        started = browser.post(f"{base}/appeals/{SLUG}/give", allow_redirects=False,
                               timeout=10, data={
                                   "csrf_token": token, "amount": "25", "currency": "USD",
                                   "name": "Dana Donor", "email": "dana@example.org"})
        assert started.status_code == 303, started.text[-2000:]
        pay_url = started.headers["Location"].removeprefix(base)
        card = support.card_token(localstripe, "4242424242424242")
        charged = browser.post(f"{base}{pay_url}/charge", json={"token": card}, timeout=30,
                               headers={"X-CSRFToken": token})
    assert charged.status_code == 200, charged.text[-2000:]
    return charged.json()["status"]


def deliver(base, payload):
    return requests.post(f"{base}/webhooks/stripe", data=payload, timeout=10, headers={
        "Content-Type": "application/json", "Stripe-Signature": support.sign(payload, SECRET)})


def succeeded_event(n, reference):
    return support.stripe_event("payment_intent.succeeded", support.intent_object(
        f"pi_multi{n}", "succeeded", 2500, "USD", reference), f"evt_multi{n}")


def times_succeeded(db, payment_id):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(PaymentStatusChange).where(
        PaymentStatusChange.payment_id == payment_id,
        PaymentStatusChange.to_status == states.SUCCEEDED))


def status_of(db, payment_id):
    db.session.rollback()
    return db.session.scalar(select(Payment.status).where(Payment.id == payment_id))


def failed_login(browser, base, token, n):
    return browser.post(f"{base}/staff/login", timeout=10, data={
        "csrf_token": token, "email": f"guess{n}@example.org", "password": "not the password"})


def test_two_apps_a_worker_and_the_scheduler_share_one_database_and_redis(
        postgresql_only, app, db, redis_jobs, localstripe, shape_env, tmp_path):
    started = time.monotonic()
    figures = {}
    appeal = create_appeal(db.session, slug=SLUG)
    gifts = [create_donation(db.session, appeal, email=f"webhook{i}@example.org")
             for i in range(4)]
    db.session.commit()
    gifts = [(g.payment_id, g.payment.reference) for g in gifts]
    db.session.rollback()

    with ExitStack() as stack:
        procs = Processes(shape_env, tmp_path)
        stack.callback(procs.close)
        a, b = procs.app("app-a"), procs.app("app-b")
        procs.flask("worker", "worker")
        procs.flask("scheduler", "scheduler")
        for base in (a, b):
            support.wait_for(base + "/healthz", timeout=30)
        figures["boot_s"] = round(time.monotonic() - started, 1)

        # 1. A gift through A is counted on B, whose figures were cached for an hour.
        assert progress(b)["raised_minor"] == 0 and progress(a)["raised_minor"] == 0
        assert give_through(a, localstripe) == states.SUCCEEDED
        assert progress(b)["raised_minor"] == 2500
        assert progress(b)["donor_count"] == 1

        # 2. One webhook delivered to both apps: both acknowledge, the worker applies it once.
        payment_id, reference = gifts[0]
        payload = succeeded_event(0, reference)
        answers = [deliver(base, payload) for base in (a, b)]
        assert [r.status_code for r in answers] == [200, 200]
        assert {r.json()["outcome"] for r in answers} <= {"queued", "duplicate"}
        until(lambda: status_of(db, payment_id) == states.SUCCEEDED, "the worker applies it")
        time.sleep(0.5)  # a second application, if any, would land now
        assert times_succeeded(db, payment_id) == 1
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
        # The worker's change reaches both apps' cached figures too.
        until(lambda: progress(a)["raised_minor"] == 5000, "A shows the worker's change", 5)
        assert progress(b)["raised_minor"] == 5000

        # 3. The rate limit is shared: 4 failed staff logins a minute per address,
        # counted across A and B together.
        with requests.Session() as browser:
            token = csrf_token(browser.get(f"{a}/staff/login", timeout=10).text)
            tries = [failed_login(browser, base, token, n).status_code
                     for n, base in enumerate((a, b, a, b, b, a))]
        assert tries == [401, 401, 401, 401, 429, 429]

        # 4. A worker killed mid-job loses no event. Its job waits on a row lock
        # this test holds (so it is surely in flight) when the worker is killed.
        import psycopg

        lock = psycopg.connect(PG_URL)
        stack.callback(lock.close)
        held = [pid for pid, _ref in gifts[1:]]
        lock.execute("SELECT id FROM payments WHERE id = ANY(%s) FOR UPDATE", (held,))
        for n, (_pid, ref) in enumerate(gifts[1:], start=1):
            assert deliver(a if n % 2 else b, succeeded_event(n, ref)).status_code == 200
        queue = Queue(jobs.QUEUE_NAME, connection=redis_jobs)

        def applying():
            return any(job is not None and job.func_name.endswith("apply_waiting_events")
                       for job in (queue.fetch_job(i)
                                   for i in queue.started_job_registry.get_job_ids()))

        until(applying, "the worker starts applying an event")
        procs.kill("worker")
        killed_at = time.monotonic()
        lock.rollback()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)
                                 .where(WebhookEvent.outcome == "received")) == 3

        # A new worker applies them: the job a later event queued once the
        # killed one had started, or else the scheduler's sweep's
        # (test_jobs_queue.py shows the sweep alone).
        procs.flask("worker-2", "worker")
        until(lambda: all(status_of(db, pid) == states.SUCCEEDED for pid in held),
              "a new worker applies every event", 40)
        figures["recovery_s"] = round(time.monotonic() - killed_at, 1)
        time.sleep(0.5)
        assert [times_succeeded(db, pid) for pid in held] == [1, 1, 1]
        db.session.rollback()
        assert set(db.session.scalars(select(WebhookEvent.outcome))) == {"applied"}
        until(lambda: progress(b)["raised_minor"] == 12500, "B shows every gift", 5)
    figures["total_s"] = round(time.monotonic() - started, 1)
    print(f"multiprocess figures: {figures}")
