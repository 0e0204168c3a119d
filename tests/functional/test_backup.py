"""`flask backup PATH` / `flask restore PATH` on SQLite and PostgreSQL: what
comes back is what was saved, every row of it, and the app carries on."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from fundraiser.appeals.models import Appeal
from fundraiser.matching import services as matching
from fundraiser.payments import services as payments
from fundraiser.payments.gateway import GatewayEvent
from tests import support
from tests.factories import create_appeal, create_donation

SLUG = "test-appeal"


def pay(db, appeal, amount, email, event_id):
    gift = create_donation(db.session, appeal, amount_minor=amount, email=email)
    db.session.commit()
    obj = support.intent_object("pi_" + event_id, "succeeded", amount, "USD",
                                gift.payment.reference)
    payments.ingest_event(db.session, GatewayEvent(
        id="evt_" + event_id, type="payment_intent.succeeded", created=0, object=obj))
    db.session.commit()
    return gift


def refund(db, gift, total, event_id):
    payments.ingest_event(db.session, GatewayEvent(
        id="evt_" + event_id, type="charge.refunded", created=0,
        object={"id": "ch_" + event_id, "payment_intent": gift.payment.intent_id,
                "amount": gift.amount_minor, "amount_refunded": total, "currency": "usd"}))
    db.session.commit()


def everything(db) -> dict:
    """Every row of every table, in primary-key order."""
    db.session.rollback()
    out = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        out[table.name] = [tuple(r) for r in rows]
    db.session.rollback()
    return out


def figures(client):
    body = client.get(f"/api/v1/appeals/{SLUG}").get_json()
    return {k: body[k] for k in ("raised_minor", "matched_minor", "total_minor",
                                 "donor_count", "donation_count", "match_pools")}


@pytest.fixture
def history(db):
    """Gifts, a partial and a full refund, a dispute, and matches."""
    appeal = create_appeal(db.session, slug=SLUG)
    matching.create_pool(db.session, appeal_id=appeal.id, currency="USD", cap_minor=6000,
                         ratio=(1, 1), sponsor_name="Sponsor")
    db.session.commit()
    a = pay(db, appeal, 2500, "a@example.org", "a")
    b = pay(db, appeal, 4000, "b@example.org", "b")
    c = pay(db, appeal, 1234, "c@example.org", "c")
    refund(db, a, 1000, "ra")
    refund(db, c, 1234, "rc")
    payments.ingest_event(db.session, GatewayEvent(
        id="evt_db", type="charge.dispute.created", created=0,
        object={"id": "dp_b", "payment_intent": b.payment.intent_id, "status": "x"}))
    db.session.commit()
    return appeal


def test_a_restored_backup_has_every_row_and_the_same_totals(
        history, db, client, runner, tmp_path, backend):
    before, shown = everything(db), figures(client)
    assert shown["raised_minor"] == 1500 and shown["matched_minor"] == 1500
    assert before["match_ledger"] and before["webhook_events"]
    path = tmp_path / "fundraiser.backup"
    made = runner.invoke(args=["backup", str(path)])
    assert made.exit_code == 0, made.output
    assert f"backed up the {backend} database" in made.output

    # Life goes on: a new gift, a refund, a won dispute.
    later = pay(db, history, 3000, "d@example.org", "d")
    refund(db, later, 500, "rd")
    payments.ingest_event(db.session, GatewayEvent(
        id="evt_dw", type="charge.dispute.closed", created=0,
        object={"id": "dp_b", "payment_intent": "pi_b", "status": "won"}))
    db.session.commit()
    assert figures(client) != shown and everything(db) != before

    refused = runner.invoke(args=["restore", str(path)])
    assert refused.exit_code != 0 and "already holds data" in refused.output
    assert figures(client) != shown  # nothing was touched
    done = runner.invoke(args=["restore", str(path), "--force"])
    assert done.exit_code == 0, done.output
    assert everything(db) == before
    assert figures(client) == shown
    # The ledger is still append-only in the database itself (its triggers came back).
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE match_ledger SET amount_minor = 0"))
    db.session.rollback()

    # … and the restored database takes new gifts (its id sequences came back too).
    appeal = db.session.scalar(select(Appeal).where(Appeal.slug == SLUG))
    again = pay(db, appeal, 700, "e@example.org", "e")
    assert again.payment_id == max(p for p, *_ in before["payments"]) + 1
    assert figures(client)["raised_minor"] == 2200


def test_a_backup_restores_on_a_new_host(history, db, client, runner, tmp_path, backend):
    shown, before = figures(client), everything(db)
    path = tmp_path / "moving.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'new-host' / 'fundraiser.sqlite'}"
        os.makedirs(tmp_path / "new-host")
    else:
        url = _fresh_pg_database(_newhost_name())
    from fundraiser import create_app

    # A new host: an empty database, nothing migrated; restore needs no --force.
    new = create_app({"SQLALCHEMY_DATABASE_URI": url, "STRIPE_API_BASE": "http://127.0.0.1:9"})
    try:
        with new.app_context():
            result = new.test_cli_runner().invoke(args=["restore", str(path)])
            assert result.exit_code == 0, result.output
            from fundraiser.extensions import db as new_db

            assert everything(new_db) == before
            assert figures(new.test_client()) == shown
            new_db.session.remove()
            new_db.engine.dispose()
    finally:
        if backend == "postgresql":
            _drop_pg_database(_newhost_name())


def test_backup_and_restore_say_what_is_wrong(history, db, client, runner, tmp_path, backend):
    shown = figures(client)
    path = tmp_path / "b.backup"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    again = runner.invoke(args=["backup", str(path)])
    assert again.exit_code != 0 and "exists; give --force" in again.output
    assert runner.invoke(args=["backup", str(path), "--force"]).exit_code == 0
    assert "no such directory" in runner.invoke(
        args=["backup", str(tmp_path / "nowhere" / "b.backup")]).output

    missing = runner.invoke(args=["restore", str(tmp_path / "missing.backup"), "--force"])
    assert missing.exit_code != 0 and "no such file" in missing.output
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    assert "not a Fundraiser backup" in runner.invoke(
        args=["restore", str(junk), "--force"]).output
    other = tmp_path / "other.backup"
    other.write_bytes((b"PGDMP" if backend == "sqlite" else b"SQLite format 3\x00") + b"\0" * 64)
    wrong = runner.invoke(args=["restore", str(other), "--force"])
    other_kind = "postgresql" if backend == "sqlite" else "sqlite"
    assert f"a backup of a {other_kind} database; this app uses {backend}" in wrong.output
    if backend == "sqlite":
        foreign = tmp_path / "foreign.sqlite"
        import sqlite3

        with sqlite3.connect(foreign) as conn:
            conn.execute("CREATE TABLE t (x)")
        conn.close()
        assert "not a Fundraiser database" in runner.invoke(
            args=["restore", str(foreign), "--force"]).output
    else:
        fake = tmp_path / "fake.dump"
        fake.write_bytes(b"PGDMP" + b"\x01" * 200)
        assert "not a readable Fundraiser dump" in runner.invoke(
            args=["restore", str(fake), "--force"]).output
    # none of it touched the data
    assert figures(client) == shown


def _newhost_name() -> str:
    from sqlalchemy.engine import make_url

    from tests.conftest import _pg_url

    return make_url(_pg_url()).database + "_newhost"  # beside the test database


def _admin_engine():
    from tests.conftest import _pg_url

    return create_engine(_pg_url(), isolation_level="AUTOCOMMIT")


def _fresh_pg_database(name: str) -> str:
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = engine.url.set(database=name).render_as_string(hide_password=False)
    engine.dispose()
    return url


def _drop_pg_database(name: str) -> None:
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()

