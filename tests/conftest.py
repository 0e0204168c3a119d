"""Fixtures for every tier. Each test gets a clean database: SQLite always,
and PostgreSQL too when DATABASE_URL names one (CI sets it)."""

from __future__ import annotations

import io
import os
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
PG_URL = os.environ.get("DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith(("postgres://", "postgresql"))
                         else [])


def pytest_sessionstart(session):
    # Compiled catalogues are build output, not in git: make sure they exist.
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "compile",
                    "-d", str(ROOT / "fundraiser" / "translations")], check=True)


@pytest.fixture(scope="session")
def localstripe():
    with support.localstripe_process() as base:
        yield base


def _pg_url():
    url = PG_URL.replace("postgres://", "postgresql://", 1)
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if "+" not in url else url


@pytest.fixture(scope="session")
def pg_schema():
    """Migrate the PostgreSQL test database once per run, from nothing."""
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


def make_app(database_url, localstripe_base="http://127.0.0.1:9", **overrides):
    from fundraiser import create_app

    config = {"SQLALCHEMY_DATABASE_URI": database_url, "STRIPE_API_BASE": localstripe_base,
              **overrides}
    app = create_app(config)
    if database_url.startswith("sqlite"):
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
    """No test may open an SMTP connection."""
    import smtplib

    def refuse(*a, **k):
        raise AssertionError("a test tried to open an SMTP connection")

    monkeypatch.setattr(smtplib.SMTP, "connect", refuse)


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
