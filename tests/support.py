"""Helpers the test tiers share: a real localstripe process, a live server
for webhooks and browsers, and Stripe-style event signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager

import requests
from werkzeug.serving import make_server

from fundraiser.jobs import job, mail_job

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):  # still booting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


LOCALSTRIPE_LOGS: dict = {}  # base URL -> its log file, for a failing test to show


def localstripe_log_tail(base: str, size: int = 3000) -> str:
    """The end of localstripe's log (its webhook deliveries among it)."""
    log = LOCALSTRIPE_LOGS.get(base)
    if log is None:
        return "(no log for " + base + ")"
    end = os.fstat(log.fileno()).st_size
    return os.pread(log.fileno(), size, max(end - size, 0)).decode("utf-8", "replace")


@contextmanager
def localstripe_process():
    port = free_port()
    # Its log goes to a file: a pipe nobody reads fills up after 64 kB, and
    # then localstripe blocks on its next log line for the rest of the run.
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fundraiser.devtools", "--port", str(port), "--log-webhooks"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        LOCALSTRIPE_LOGS[base] = log
        try:
            wait_for(base + "/js.stripe.com/v3/")
            yield base
        finally:
            LOCALSTRIPE_LOGS.pop(base, None)
            proc.terminate()
            proc.wait(timeout=10)


def register_webhook(localstripe_base: str, url: str, secret: str) -> None:
    r = requests.post(f"{localstripe_base}/_config/webhooks/fundraiser",
                      data={"url": url, "secret": secret}, timeout=5)
    r.raise_for_status()


class LiveServer:
    """The app served over HTTP on 127.0.0.1, in a thread. Errors raised
    while serving (the app's own, and any from around it) are kept in
    `errors`, as tracebacks: a test that waits for a delivery can show why
    the server answered 500."""

    def __init__(self, app):
        self.app = app
        self.errors: list[str] = []
        self.server = make_server("127.0.0.1", 0, self._serve, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _serve(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except BaseException:
            self.errors.append(traceback.format_exc())
            raise

    def _app_error(self, sender, exception, **extra):
        self.errors.append("".join(traceback.format_exception(exception)))

    def __enter__(self):
        from flask import got_request_exception

        got_request_exception.connect(self._app_error, self.app)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        from flask import got_request_exception

        self.server.shutdown()
        self.thread.join(timeout=10)
        got_request_exception.disconnect(self._app_error, self.app)


def card_token(localstripe_base: str, number: str, pk="pk_test_localstripe") -> str:
    r = requests.post(f"{localstripe_base}/v1/tokens", data={
        "card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2034",
        "card[cvc]": "123", "key": pk}, timeout=5)
    r.raise_for_status()
    return r.json()["id"]


def authenticate_3ds(localstripe_base: str, client_secret: str, success: bool,
                     pk="pk_test_localstripe") -> dict:
    """What localstripe's fake Stripe.js does when the donor clicks
    "Complete authentication" or "Fail authentication"."""
    intent = client_secret.split("_secret_")[0]
    r = requests.post(
        f"{localstripe_base}/v1/payment_intents/{intent}/_authenticate",
        params={"success": "true" if success else "false"},
        data={"key": pk, "client_secret": client_secret}, timeout=5)
    r.raise_for_status()
    return r.json()


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def stripe_event(type_: str, obj: dict, event_id: str | None = None) -> str:
    return json.dumps({
        "id": event_id or "evt_" + secrets.token_hex(8), "object": "event", "type": type_,
        "created": int(time.time()), "livemode": False, "api_version": "2020-08-27",
        "data": {"object": obj},
    })


def intent_object(intent_id: str, status: str, amount: int, currency: str,
                  reference: str | None) -> dict:
    return {"id": intent_id, "object": "payment_intent", "status": status, "amount": amount,
            "currency": currency.lower(), "metadata": {"fundraiser_ref": reference} if reference
            else {}, "last_payment_error": None, "client_secret": intent_id + "_secret_x"}


def post_event(client, app, payload: str):
    """Deliver a signed event to the app's webhook endpoint."""
    signature = sign(payload, app.config["STRIPE_WEBHOOK_SECRET"])
    return client.post("/webhooks/stripe", data=payload,
                       headers={"Content-Type": "application/json",
                                "Stripe-Signature": signature})


def charge_refunded(intent_id: str, total: int, event_id: str, amount: int = 2500) -> str:
    """charge.refunded for a card gift of `amount`, `total` refunded so far."""
    return stripe_event("charge.refunded", {
        "id": "ch_" + intent_id[3:], "object": "charge", "payment_intent": intent_id,
        "amount": amount, "amount_refunded": total, "currency": "usd",
        "refunded": total >= amount,
    }, event_id)


def procfile_command(name: str) -> list[str]:
    """The `Procfile`'s line for the process `name`, as a command run with
    this Python (its `flask` is this environment's): the tests and the bench
    start what production starts, priorities included."""
    with open(os.path.join(ROOT, "Procfile"), encoding="utf-8") as procfile:
        for line in procfile:
            key, _, command = line.partition(":")
            if key.strip() == name:
                words = shlex.split(command)
                at = words.index("flask")
                return [*words[:at], sys.executable, "-m", "flask", *words[at + 1:]]
    raise KeyError(f"no {name!r} line in the Procfile")


def worker_env(database_url: str, redis_url: str, **extra) -> dict:
    """The environment of a `flask worker` / `flask scheduler` subprocess
    sharing a test's database and Redis; mail is printed, logs are JSON."""
    env = dict(os.environ, FUNDRAISER_CONFIG="default", DATABASE_URL=database_url,
               REDIS_URL=redis_url, STRIPE_API_BASE="http://127.0.0.1:9",
               MAIL_BACKEND="console", LOG_FORMAT="json", PUBLIC_CACHE_SECONDS="0",
               PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


@job
def failing_job(label):
    """A job that always raises (for the retry and staff-page tests)."""
    raise RuntimeError(f"the partner service refused {label}")


@mail_job
def failing_mail_job(label):
    """The same, on the mail queue."""
    raise RuntimeError(f"the mail service refused {label}")


def run_burst_worker(db, **work):
    """A worker taking from every queue (money first) until they are empty,
    as `flask worker --burst` does, in this process."""
    from rq import SimpleWorker

    from fundraiser import jobs

    db.session.rollback()  # the test's own transaction (SQLite: the write lock) ends first
    queues = jobs.queues()
    SimpleWorker(queues, connection=queues[0].connection).work(burst=True, **work)


def in_threads(app, db, work, args, timeout: float = 180):
    """Run `work(arg)` for each arg, each in its own thread, app context and
    session (so its own connection), all released at once by a barrier; each
    commits. Returns the errors, as reprs."""
    db.session.commit()
    db.session.remove()  # hold no transaction (SQLite: no lock) while threads run
    barrier = threading.Barrier(len(args))
    errors = []

    def run(arg):
        with app.app_context():
            try:
                barrier.wait()
                work(arg)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - every failure is reported
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(arg,)) for arg in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return errors


@contextmanager
def count_statements(engine):
    """The SQL statements `engine` runs inside the block, as a list."""
    from sqlalchemy import event

    seen = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def form_token(client, page, base: str = "") -> str:
    """The CSRF token a browser sends from `page` (a response, its text or
    bytes): the one in it, or — on the shared appeal page, which carries
    none — its own from /form-token, as static/js/form_token.js fetches it.
    `client`: a Flask test client, or a requests.Session with `base`."""
    if hasattr(page, "text"):
        page = page.text
    if isinstance(page, bytes):
        page = page.decode()
    found = re.search(r'name="csrf-token" content="([^"]*)"', page).group(1)
    if found:
        return found
    answer = client.get(base + "/form-token")
    assert answer.status_code == 200, answer.status_code
    return (answer.get_json() if hasattr(answer, "get_json") else answer.json())["token"]
