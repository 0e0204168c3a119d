"""What a load balancer asks a host: is the process up, can it serve donors."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
from sqlalchemy import text

from tests import support
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]


def _ask(app, path):
    """One request to an app built by the test, then its pool closed."""
    from fundraiser.extensions import db

    try:
        return app.test_client().get(path)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_healthz_answers_without_touching_anything(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "redis": "not configured"}


def test_readyz_says_503_when_the_schema_is_behind_the_code(client, db):
    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = 'f95e496212ac'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
    finally:  # the PostgreSQL schema is shared by the whole run
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        db.session.commit()
    assert response.status_code == 503
    assert "db upgrade" in response.get_json()["reason"]


def test_readyz_says_503_when_the_database_is_not_migrated(tmp_path):
    from fundraiser import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite'}"})
    response = _ask(app, "/readyz")
    assert response.status_code == 503
    reason = response.get_json()["reason"]
    assert reason.startswith("database unreachable or not migrated")
    assert str(tmp_path) not in reason  # no connection details leak


def test_readyz_says_503_when_redis_is_configured_but_down(database_url):
    app = make_app(database_url, REDIS_URL=f"redis://127.0.0.1:{support.free_port()}/0")
    response = _ask(app, "/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["database"] == "ok"
    assert body["reason"].startswith("redis unreachable")


def test_readyz_checks_a_live_redis(database_url):
    app = make_app(database_url, REDIS_URL="redis://127.0.0.1:6379/9")
    response = _ask(app, "/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"]["redis"] == "ok"


def test_under_gunicorn_config_the_server_header_names_no_version(tmp_path):
    database = tmp_path / "g.sqlite"
    _ask(make_app(f"sqlite:///{database}"), "/healthz")  # migrated
    port = support.free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "WEB_CONCURRENCY": "1",
           "BIND": f"127.0.0.1:{port}", "FUNDRAISER_CONFIG": "default",
           "STRIPE_API_BASE": "http://127.0.0.1:9"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                             "fundraiser:create_app()"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        support.wait_for(f"http://127.0.0.1:{port}/healthz")
        response = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
        assert response.status_code == 200
        assert response.headers["Server"] == "gunicorn"
        requests.get(f"http://127.0.0.1:{port}/staff/set-password/secret-token-xyz", timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
    assert '"GET /readyz" 200' in output
    assert "secret-token-xyz" not in output and "/staff/set-password/…" in output


def test_static_assets_carry_their_content_hash_and_are_cached_for_a_year(client):
    import hashlib
    import re

    page = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/[^"]+\.css\?v=([0-9a-f]{16}))"', page)
    assert css, "the stylesheet link carries no fingerprint"
    path = ROOT / css.group(1).split("?")[0].lstrip("/")
    assert css.group(2) == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    with client.get(css.group(1)) as fresh:
        assert fresh.status_code == 200
        assert fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    with client.get(css.group(1).split("?")[0] + "?v=0000000000000000") as stale:
        assert stale.headers["Cache-Control"] == "public, max-age=300"


def test_progress_json_answers_304_until_the_figures_change(client, db):
    from fundraiser.payments import services as payments
    from tests.factories import create_appeal, create_donation

    appeal = create_appeal(db.session)
    gift = create_donation(db.session, appeal, amount_minor=2500)
    db.session.commit()
    url = f"/api/v1/appeals/{appeal.slug}"
    first = client.get(url)
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    payments.transition_to(db.session, gift.payment_id, "succeeded")
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["raised_minor"] == first.get_json()["raised_minor"] + 2500
    assert changed.headers["ETag"] != etag


def test_a_load_balancers_probe_is_answered_whatever_host_it_names(client):
    assert client.get("/healthz", headers={"Host": "10.0.3.7:8000"}).status_code == 200
    assert client.get("/readyz", headers={"Host": "10.0.3.7:8000"}).status_code == 200
    assert client.get("/", headers={"Host": "10.0.3.7:8000"}).status_code == 400
