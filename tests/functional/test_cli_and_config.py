import pytest
from sqlalchemy import func, select

from fundraiser.appeals.models import Appeal, Cosigner
from fundraiser.staff.models import StaffUser


def test_demo_loads_appeals_and_is_safe_to_run_twice(runner, db, client):
    for _ in range(2):
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(Appeal)) == 3
    assert db.session.scalar(select(func.count()).select_from(Cosigner)) == 44
    assert db.session.scalar(select(func.count()).select_from(StaffUser)) == 1
    slugs = {a["slug"] for a in client.get("/api/v1/appeals").get_json()}
    assert slugs == {"stand-with-refusers", "ceasefire-now-statement", "shutafut-petition"}
    assert client.get("/appeals/shutafut-petition").status_code == 200


def test_create_staff_checks_its_input(runner, db):
    ok = runner.invoke(args=["create-staff", "Finance@Example.org", "--role", "finance"])
    assert ok.exit_code == 0 and "created: finance@example.org (finance)" in ok.output
    again = runner.invoke(args=["create-staff", "finance@example.org", "--role", "finance"])
    assert "exists" in again.output
    bad = runner.invoke(args=["create-staff", "not-an-email", "--role", "viewer"])
    assert bad.exit_code != 0 and "valid email" in bad.output
    role = runner.invoke(args=["create-staff", "x@example.org", "--role", "owner"])
    assert role.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(StaffUser)) == 1


def test_reconcile_refuses_a_bad_duration(runner):
    result = runner.invoke(args=["reconcile", "--since", "forever"])
    assert result.exit_code != 0 and "like 30m, 12h, 2d" in result.output


def test_a_live_stripe_key_is_refused_unless_allowed(database_url):
    from fundraiser import create_app
    from fundraiser.payments.stripe_gateway import LiveKeyRefused

    with pytest.raises(LiveKeyRefused):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "STRIPE_SECRET_KEY": "sk_live_x"})
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "STRIPE_SECRET_KEY": "sk_live_x",
                      "STRIPE_ALLOW_LIVE": True})
    assert app.extensions["fundraiser.gateway"].js_url == "http://127.0.0.1:8420/js.stripe.com/v3/"


def test_production_config_refuses_to_start_without_its_secrets(monkeypatch):
    from config import ProductionConfig

    for name in ProductionConfig.REQUIRED:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError) as err:
        ProductionConfig.check()
    assert "SECRET_KEY" in str(err.value) and "STRIPE_WEBHOOK_SECRET" in str(err.value)
