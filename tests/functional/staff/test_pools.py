"""Match pools in the staff appeal editor: list, create, raise the cap, move
the window; refused input changes nothing; every change is audited."""

from datetime import datetime

import pytest
from sqlalchemy import select

from fundraiser.matching.models import MatchPool
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.staff.models import AuditEvent
from tests.factories import create_appeal, create_donation
from tests.functional.staff.conftest import snapshot

NEW = {"sponsor": "Ruth's Bakery", "ratio": "2:1", "cap": "5000",
       "starts_at": "2026-12-01T09:00", "ends_at": "2026-12-31T18:30",
       "per_gift_limit": "250", "min_gift": "10", "first_time_only": "y"}


@pytest.fixture
def appeal(db):
    appeal = create_appeal(db.session)
    db.session.commit()
    return appeal


def audit_actions(db):
    db.session.rollback()
    return db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.target_type == "match_pool").order_by(AuditEvent.id)).all()


def test_an_editor_adds_a_pool_with_every_rule_and_sees_it_listed(db, appeal, staff_client):
    editor = staff_client("editor")
    response = editor.post(f"/staff/appeals/{appeal.id}/pools", NEW)
    assert response.status_code == 303, response.data[:3000]
    db.session.rollback()
    pool = db.session.scalar(select(MatchPool))
    assert (pool.sponsor_name, pool.is_anonymous, pool.ratio, pool.cap_minor,
            pool.remaining_minor, pool.currency) == ("Ruth's Bakery", False, "2:1", 500_000,
                                                     500_000, "USD")
    assert (pool.starts_at, pool.ends_at) == (datetime(2026, 12, 1, 9, 0),
                                              datetime(2026, 12, 31, 18, 30))
    assert (pool.per_gift_limit_minor, pool.min_gift_minor, pool.first_time_only) == \
        (25_000, 1_000, True)
    page = editor.get(f"/staff/appeals/{appeal.id}/pools")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Ruth&#39;s Bakery" in text and "$5,000.00" in text and "2:1" in text
    assert "first-time donors only" in text
    assert audit_actions(db) == ["pool.created"]


def test_an_anonymous_pool_needs_no_name_and_shows_none(db, appeal, staff_client, client):
    admin = staff_client("admin")
    response = admin.post(f"/staff/appeals/{appeal.id}/pools",
                          {"anonymous": "y", "ratio": "1:2", "cap": "100"})
    assert response.status_code == 303, response.data[:3000]
    db.session.rollback()
    pool = db.session.scalar(select(MatchPool))
    assert pool.is_anonymous and pool.ratio == "1:2" and pool.ends_at is None
    body = client.get("/api/v1/appeals/test-appeal").get_json()
    assert body["match_pools"][0]["sponsor"] == "Anonymous"


@pytest.mark.parametrize("data, message", [
    ({"cap": ""}, "This field is required"),
    ({"cap": "-5"}, "Enter an amount like 250"),
    ({"cap": "1e9"}, "Enter an amount like 250"),
    ({"cap": "0"}, "Enter a cap more than zero"),
    ({"cap": "99999999999999999999"}, "Enter a cap more than zero"),
    ({"cap": "12.345"}, "Enter an amount like 250"),
    ({"ratio": "3"}, "Write the ratio as two whole numbers"),
    ({"ratio": "0:1"}, "Write the ratio as two whole numbers"),
    ({"ratio": "1001:1"}, "Write the ratio as two whole numbers"),
    ({"ratio": "1:1; DROP TABLE"}, "Field cannot be longer"),
    ({"sponsor": ""}, "Give the sponsor"),
    ({"sponsor": "x" * 121}, "Field cannot be longer"),
    ({"sponsor": "Bad\x00name"}, "Give the sponsor"),
    ({"ends_at": "2026-11-30T10:00"}, "must close after it opens"),
    ({"ends_at": "yesterday"}, "Not a valid datetime"),
    ({"starts_at": "1900-01-01T00:00"}, "between the years 2000 and 2100"),
    ({"per_gift_limit": "0"}, "must be more than zero"),
    ({"per_gift_limit": "6000"}, "not more than the cap"),
    ({"min_gift": "abc"}, "Enter an amount like 250"),
])
def test_bad_input_is_refused_with_a_message_and_changes_nothing(db, appeal, staff_client,
                                                                  data, message):
    editor = staff_client("editor")
    before = snapshot(db)
    response = editor.post(f"/staff/appeals/{appeal.id}/pools", {**NEW, **data})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text, text[:5000]
    assert 'aria-invalid="true"' in text
    assert snapshot(db) == before


def test_hostile_sponsor_name_is_shown_as_text(db, appeal, staff_client):
    editor = staff_client("editor")
    editor.post(f"/staff/appeals/{appeal.id}/pools",
                {**NEW, "sponsor": "<script>alert(1)</script>"})
    page = editor.get(f"/staff/appeals/{appeal.id}/pools").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def make_pool(editor, db, appeal, **fields):
    response = editor.post(f"/staff/appeals/{appeal.id}/pools", {**NEW, **fields})
    assert response.status_code == 303
    db.session.rollback()
    return db.session.scalars(select(MatchPool).order_by(MatchPool.id.desc())).first()


def test_raise_the_cap_and_move_the_window(db, appeal, staff_client):
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal)
    response = editor.post(f"/staff/appeals/{appeal.id}/pools/{pool.id}",
                           {f"p{pool.id}-cap": "7500", f"p{pool.id}-starts_at": "",
                            f"p{pool.id}-ends_at": "2027-01-15T12:00"})
    assert response.status_code == 303, response.data[:3000]
    db.session.expire_all()
    pool = db.session.get(MatchPool, pool.id)
    assert (pool.cap_minor, pool.remaining_minor) == (750_000, 750_000)
    assert (pool.starts_at, pool.ends_at) == (None, datetime(2027, 1, 15, 12, 0))
    assert audit_actions(db) == ["pool.created", "pool.changed"]


def test_the_cap_cannot_go_below_what_is_matched(db, appeal, staff_client):
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal, ratio="1:1", starts_at="", ends_at="",
                     per_gift_limit="", min_gift="", first_time_only="")
    gift = create_donation(db.session, appeal, amount_minor=30_000)
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(MatchPool, pool.id).remaining_minor == 470_000  # $300 matched
    page = editor.get(f"/staff/appeals/{appeal.id}/pools").get_data(as_text=True)
    assert "$300.00" in page and "$4,700.00" in page
    before = snapshot(db)
    response = editor.post(f"/staff/appeals/{appeal.id}/pools/{pool.id}",
                           {f"p{pool.id}-cap": "200", f"p{pool.id}-ends_at": "2027-02-01T00:00"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "cannot be lower than what is already matched ($300.00)" in text
    assert "Nothing was changed" in text
    assert snapshot(db) == before
    # down to exactly what is matched is allowed
    ok = editor.post(f"/staff/appeals/{appeal.id}/pools/{pool.id}", {f"p{pool.id}-cap": "300"})
    assert ok.status_code == 303
    db.session.expire_all()
    assert db.session.get(MatchPool, pool.id).remaining_minor == 0


def test_a_pool_of_another_appeal_is_not_found(db, appeal, staff_client):
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal)
    other = create_appeal(db.session, slug="other")
    db.session.commit()
    before = snapshot(db)
    response = editor.post(f"/staff/appeals/{other.id}/pools/{pool.id}",
                           {f"p{pool.id}-cap": "9000"})
    assert response.status_code == 404
    assert snapshot(db) == before
