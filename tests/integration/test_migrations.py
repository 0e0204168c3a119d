"""Migrations: the schema they build is the one the models describe, and the
move of hero images from the static folder into the database keeps them."""

import hashlib
import os
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fundraiser import create_app
from fundraiser.extensions import db
from tests.conftest import PG_URL

BEFORE_IMAGES = "fb1cf10d1d7c"
# Built by the migrations only where the database can: the trigram index for
# staff search needs PostgreSQL's pg_trgm.
MIGRATION_ONLY = {"ix_donations_search_trgm"}


@pytest.fixture
def empty_url(backend, tmp_path):
    """A database with nothing in it, of each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    url = make_url(PG_URL)
    name = f"{url.database}_migrations"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def app_for(url):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "STRIPE_API_BASE": "http://127.0.0.1:9"})


def test_the_migrated_schema_is_the_models_schema(empty_url):
    app = app_for(empty_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn, warnings.catch_warnings():
            # SQLite cannot reflect the lower(email) expression index.
            warnings.simplefilter("ignore")
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = [d for d in compare_metadata(context, db.metadata)
                           if not (d[0] == "remove_index" and d[1].name in MIGRATION_ONLY)]
            assert differences == []
        db.engine.dispose()


def test_hero_images_move_from_the_static_folder_into_the_database(empty_url):
    app = app_for(empty_url)
    with app.app_context():
        upgrade(revision=BEFORE_IMAGES)
        with db.engine.begin() as conn:
            for slug, path in (("drawn", "img/coalition.svg"), ("lost", "uploads/gone.jpg"),
                               ("escape", "../config.py"), ("plain", None)):
                conn.execute(text(
                    "INSERT INTO appeals (slug, title, summary, language, story_md, story_html,"
                    " thank_you_md, thank_you_html, hero_image, hero_alt, hero_credit,"
                    " goal_minor, currency, suggested_amounts, status, created_at) VALUES"
                    " (:slug, 'T', '', 'en', '', '', '', '', :path, '', '', 100, 'USD', '',"
                    " 'published', CURRENT_TIMESTAMP)"), {"slug": slug, "path": path})
        upgrade()
        with db.engine.connect() as conn:
            rows = dict(conn.execute(text(
                "SELECT a.slug, i.digest FROM appeals a LEFT JOIN images i"
                " ON i.id = a.hero_image_id")).all())
            kinds = conn.execute(text("SELECT content_type, width, height FROM images")).all()
        with open(os.path.join(app.static_folder, "img", "coalition.svg"), "rb") as f:
            assert rows["drawn"] == hashlib.sha256(f.read()).hexdigest()
        assert rows["lost"] is None and rows["escape"] is None and rows["plain"] is None
        assert kinds == [("image/svg+xml", 1200, 600)]
        downgrade(revision=BEFORE_IMAGES)    # and back, for a release rolled back
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM appeals")).scalar() == 4
        db.engine.dispose()


def test_the_status_history_begins_with_each_payments_status_of_the_day(empty_url):
    app = app_for(empty_url)
    with app.app_context():
        upgrade(revision="a7e3c91d5b20")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO payments (reference, status, amount_minor, currency,"
                " refunded_minor, provider, created_at, updated_at) VALUES"
                " ('ref1', 'succeeded', 500, 'USD', 0, 'stripe', '2026-01-01 10:00:00',"
                " '2026-01-01 10:05:00')"))
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT from_status, to_status, cause, at FROM payment_status_changes")).all()
        assert [tuple(r[:3]) for r in rows] == [(None, "succeeded", "history begins")]
        assert str(rows[0][3]).startswith("2026-01-01 10:05:00")
        db.engine.dispose()
