"""Fixtures for every tier. Each test gets a clean database: SQLite always,
and PostgreSQL too when DATABASE_URL names one (CI sets it)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from tests import support

ROOT = Path(__file__).resolve().parent.parent

# Under `pytest -n N` (pytest-xdist; `make test` uses it) each worker process
# gets its own PostgreSQL database and its own Redis databases, so two workers
# never truncate or flush each other's data. Redis has 16 databases: up to four
# workers each take one for jobs, one for the shared cache and one for the
# card-testing counters (db 11 is the benchmark's).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") and WORKER[2:].isdigit() else 0
_REDIS_DBS = {"TEST_REDIS_JOBS_URL": (5, 6, 7, 8), "TEST_REDIS_CACHE_URL": (12, 13, 14, 15),
              "TEST_REDIS_URL": (3, 4, 9, 10)}
if WORKER:
    if WORKER_INDEX > 3:
        raise pytest.UsageError("run the suite with at most 4 workers (pytest -n 4)")
    for _name, _dbs in _REDIS_DBS.items():
        os.environ.setdefault(_name, f"redis://127.0.0.1:6379/{_dbs[WORKER_INDEX]}")


def _worker_database(url: str) -> str:
    """The database URL this worker uses: `<name>_gw<N>` beside the one named."""
    if not WORKER or not url.startswith(("postgres://", "postgresql")):
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(
        hide_password=False)


PG_URL = _worker_database(os.environ.get("DATABASE_URL", ""))
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith(("postgres://", "postgresql"))
                         else [])


def pytest_sessionstart(session):
    # Compiled catalogues are build output, not in git: make sure they exist
    # (once, in the controlling process, not in every xdist worker at once).
    if hasattr(session.config, "workerinput"):
        return
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "compile",
                    "-d", str(ROOT / "fundraiser" / "translations")], check=True)


@pytest.fixture(scope="session")
def localstripe():
    with support.localstripe_process() as base:
        yield base


def _pg_url(url: str = ""):
    url = (url or PG_URL).replace("postgres://", "postgresql://", 1)
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if "+" not in url else url


def _create_database_if_missing(url: str) -> None:
    from sqlalchemy.engine import make_url

    target = make_url(url)
    named = make_url(_pg_url(os.environ["DATABASE_URL"]))  # exists: CI names it
    admin = create_engine(named, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": target.database}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_schema():
    """Migrate the PostgreSQL test database once per run, from nothing."""
    _create_database_if_missing(_pg_url())
    engine = create_engine(_pg_url())
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    from fundraiser import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": PG_URL, "STRIPE_API_BASE": "http://127.0.0.1:9"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        from fundraiser.extensions import db

        db.engine.dispose()
    return True


def _truncate_pg():
    engine = create_engine(_pg_url())
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"))]
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def database_url(backend, tmp_path, request):
    if backend == "postgresql":
        request.getfixturevalue("pg_schema")
        _truncate_pg()
        return PG_URL
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


_sqlite_template: Path | None = None


def _migrated_sqlite() -> Path:
    """A SQLite file migrated to head once per test process. Each test's new
    database is a copy of it: running every migration for every test cost
    ~0.3 s each, minutes over the suite (tests/integration/test_migrations.py
    still runs the chain, up and down)."""
    global _sqlite_template
    if _sqlite_template is None:
        import sqlite3
        import tempfile

        from flask_migrate import upgrade

        from fundraiser import create_app
        from fundraiser.extensions import db

        path = Path(tempfile.mkdtemp(prefix="fundraiser-head-")) / "head.sqlite"
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                          "STRIPE_API_BASE": "http://127.0.0.1:9"})
        with app.app_context():
            upgrade()
            db.session.remove()
            db.engine.dispose()
        with sqlite3.connect(path) as conn:  # one self-contained file to copy
            conn.execute("PRAGMA journal_mode = DELETE")
        conn.close()
        _sqlite_template = path
    return _sqlite_template


def make_app(database_url, localstripe_base="http://127.0.0.1:9", **overrides):
    from fundraiser import create_app

    config = {"SQLALCHEMY_DATABASE_URI": database_url, "STRIPE_API_BASE": localstripe_base,
              **overrides}
    fresh = False
    if database_url.startswith("sqlite:///"):
        path = Path(database_url[len("sqlite:///"):])
        if not path.exists():
            shutil.copyfile(_migrated_sqlite(), path)
            fresh = True
    app = create_app(config)
    if database_url.startswith("sqlite") and not fresh:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
    return app


@contextmanager
def app_with(database_url, **overrides):
    """An app of its own (other settings than the `app` fixture's), inside its
    app context; its connections are closed afterwards."""
    app = make_app(database_url, **overrides)
    with app.app_context():
        try:
            yield app
        finally:
            from fundraiser.extensions import db

            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(database_url, request):
    """The app against a clean database. Tests that touch the payment
    processor also ask for `localstripe`, and the app then talks to it."""
    base = (request.getfixturevalue("localstripe")
            if "localstripe" in request.fixturenames else "http://127.0.0.1:9")
    app = make_app(database_url, base)
    with app.app_context():
        yield app
        from fundraiser.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def db(app):
    from fundraiser.extensions import db

    return db


class _FreshContextClient(FlaskClient):
    """Tests keep an app context pushed (to use db.session directly), so every
    request would share one `g`; clear what Flask-Babel and Flask-WTF cache
    there, as a real server's fresh context per request would."""

    def open(self, *args, **kwargs):
        g.pop("_flask_babel", None)
        g.pop("csrf_token", None)
        response = super().open(*args, **kwargs)
        # Werkzeug's test client spools a multipart body over 500 KB to a
        # temporary file and never closes it (a ResourceWarning, so an error
        # in this suite); the request is over, so close it here.
        body = response.request.environ.get("wsgi.input")
        if body is not None and not isinstance(body, io.BytesIO):
            body.close()
        return response


@pytest.fixture
def client(app):
    app.test_client_class = _FreshContextClient
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def gateway(app):
    return app.extensions["fundraiser.gateway"]


@pytest.fixture
def live_server(app, localstripe):
    """The app over HTTP with localstripe's webhooks pointed at it."""
    with support.LiveServer(app) as server:
        support.register_webhook(localstripe, server.url + "/webhooks/stripe",
                                 app.config["STRIPE_WEBHOOK_SECRET"])
        yield server


@pytest.fixture(autouse=True)
def _no_smtp(monkeypatch):
    """No test may open an SMTP connection, but to its own loopback server
    (the `smtp_inbox` fixture, tests/smtp.py)."""
    import smtplib

    from tests.smtp import ALLOWED_PORTS

    connect = smtplib.SMTP.connect

    def refuse(self, host="localhost", port=0, *a, **k):
        if host == "127.0.0.1" and port in ALLOWED_PORTS:
            return connect(self, host, port, *a, **k)
        raise AssertionError("a test tried to open an SMTP connection")

    monkeypatch.setattr(smtplib.SMTP, "connect", refuse)


@pytest.fixture
def smtp_inbox():
    """A real SMTP server on a free loopback port; `.config()` points an app
    at it, `.messages` holds what arrived."""
    from tests.smtp import Inbox

    inbox = Inbox().start()
    try:
        yield inbox
    finally:
        inbox.stop()


# The job-queue tests' own Redis database (never another's), flushed before
# and after each test.
REDIS_JOBS_URL = os.environ.get("TEST_REDIS_JOBS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture
def redis_jobs():
    import redis

    connection = redis.Redis.from_url(REDIS_JOBS_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_JOBS_URL}")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def queued_app(database_url, redis_jobs):
    """The app with a job queue (REDIS_URL set): jobs wait for a worker.
    Retries come at once (no back-off wait) unless a test sets its own."""
    app = make_app(database_url, REDIS_URL=REDIS_JOBS_URL, JOB_RETRY_INTERVALS=[0, 0])
    with app.app_context():
        yield app
        from fundraiser.extensions import db

        db.session.remove()
        db.engine.dispose()
