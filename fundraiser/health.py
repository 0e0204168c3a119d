"""Health checks for a load balancer or an orchestrator.

- `/healthz`: the process answers (liveness). Touches nothing else, so a
  database outage does not get every app process restarted at once.
- `/readyz`: this host can serve donors (readiness): the database answers,
  its schema is at the migrations' head (a host started before `db upgrade`
  ran, or running older code than the schema, is kept out of rotation), and
  Redis answers when `REDIS_URL` is set. 503 with the failing check's reason
  otherwise, so whoever looks at the balancer's log knows what to fix.

Neither says which version runs or how the database is reached: the reasons
are short fixed words plus the error's class, never a URL or a password.
"""

from __future__ import annotations

import os
from functools import lru_cache

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .extensions import db, limiter

bp = Blueprint("health", __name__)

# The readiness answer must come fast even when a dependency hangs.
REDIS_TIMEOUT_SECONDS = 0.5


@lru_cache(maxsize=4)
def migration_heads(directory: str) -> frozenset[str]:
    """The revisions at the tip of the migration scripts (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def _check_database() -> tuple[bool, str]:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception as exc:  # any driver error means "not ready", never a 500
        return False, f"database unreachable or not migrated ({type(exc).__name__})"
    directory = current_app.extensions["migrate"].directory
    heads = migration_heads(os.path.abspath(directory))
    if set(rows) != heads:
        return False, "database schema is not at the migrations' head (run `db upgrade`)"
    return True, "ok"


def _check_redis() -> tuple[bool, str]:
    url = current_app.config.get("REDIS_URL") or ""
    if not url:
        return True, "not configured"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return False, f"redis unreachable ({type(exc).__name__})"
    return True, "ok"


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
@limiter.exempt
def readyz():
    checks = {"database": _check_database(), "redis": _check_redis()}
    ready = all(ok for ok, _ in checks.values())
    body = {"status": "ready" if ready else "not ready",
            "checks": {name: reason for name, (_ok, reason) in checks.items()}}
    if not ready:
        body["reason"] = "; ".join(reason for ok, reason in checks.values() if not ok)
    return _no_store(jsonify(body)), (200 if ready else 503)
