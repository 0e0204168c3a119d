"""Match pools in the staff appeal editor: list, create, change every term
afterwards; refused input changes nothing; every change is audited."""

import json
from dataclasses import asdict
from datetime import datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from fundraiser.matching import ledger as match_ledger
from fundraiser.matching import services as matching
from fundraiser.matching.models import MatchEntry, MatchPool
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.staff import pool_services, services
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
    ({"sponsor": "Bad\x00name"}, "characters that cannot be shown"),
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


class _FormValues(HTMLParser):
    """What a browser would send from the pools page for one pool's form:
    text inputs, ticked boxes, the selected option."""

    def __init__(self, prefix):
        super().__init__()
        self.prefix, self.values, self._select = prefix, {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name") or ""
        if tag == "select" and name.startswith(self.prefix):
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a["value"]
        elif tag == "input" and name.startswith(self.prefix):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[name] = a.get("value", "y")
            else:
                self.values[name] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def form_values(staff, appeal, pool):
    page = staff.get(f"/staff/appeals/{appeal.id}/pools")
    assert page.status_code == 200
    parser = _FormValues(f"p{pool.id}-")
    parser.feed(page.get_data(as_text=True))
    return parser.values


def edit(staff, appeal, pool, **changes):
    """Change a pool the way a person does: the form as shown, some fields
    typed over (None: a box unticked)."""
    data = form_values(staff, appeal, pool)
    for name, value in changes.items():
        if value is None:
            data.pop(f"p{pool.id}-{name}", None)
        else:
            data[f"p{pool.id}-{name}"] = value
    return staff.post(f"/staff/appeals/{appeal.id}/pools/{pool.id}", data)


def pool_row(db, pool_id):
    db.session.expire_all()
    return db.session.get(MatchPool, pool_id)


def last_audit(db):
    db.session.rollback()
    return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def test_raise_the_cap_and_move_the_window(db, appeal, staff_client):
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal)
    response = edit(editor, appeal, pool, cap="7500", starts_at="", ends_at="2027-01-15T12:00")
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
    response = edit(editor, appeal, pool, cap="200", ends_at="2027-02-01T00:00")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "cannot be lower than what is already matched ($300.00)" in text
    assert "Nothing was changed" in text
    assert snapshot(db) == before
    # down to exactly what is matched is allowed
    ok = edit(editor, appeal, pool, cap="300")
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


# -- changing every term after the pool is made ------------------------------------

def audit_details(db):
    return json.loads(last_audit(db).details)


def test_the_form_shows_the_pool_as_it_is_and_saving_it_unchanged_changes_nothing(
        db, appeal, staff_client):
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal, monthly_rule="x12")
    # a window with seconds (made elsewhere): the form shows minutes and must not drop them
    matching.change_pool(db.session, pool.id, starts_at=datetime(2026, 12, 1, 9, 0, 41, 5),
                         ends_at=datetime(2026, 12, 31, 18, 30, 59))
    db.session.commit()
    assert form_values(editor, appeal, pool) == {
        f"p{pool.id}-sponsor": "Ruth's Bakery", f"p{pool.id}-ratio": "2:1",
        f"p{pool.id}-cap": "5000.00", f"p{pool.id}-starts_at": "2026-12-01T09:00",
        f"p{pool.id}-ends_at": "2026-12-31T18:30", f"p{pool.id}-per_gift_limit": "250.00",
        f"p{pool.id}-min_gift": "10.00", f"p{pool.id}-first_time_only": "y",
        f"p{pool.id}-monthly_rule": "x12"}
    before = snapshot(db)
    response = edit(editor, appeal, pool)
    assert response.status_code == 303
    assert "Nothing changed." in editor.get(response.headers["Location"]).get_data(as_text=True)
    assert snapshot(db) == before  # no audit row either


@pytest.mark.parametrize("field, typed, column, stored, key, old, new", [
    ("sponsor", "  Miriam & Sons  ", "sponsor_name", "Miriam & Sons", "sponsor_name",
     "Ruth's Bakery", "Miriam & Sons"),
    ("sponsor", "מאפיית רות", "sponsor_name", "מאפיית רות", "sponsor_name",
     "Ruth's Bakery", "מאפיית רות"),
    ("anonymous", "y", "is_anonymous", True, "anonymous", False, True),
    ("ratio", "3:2", "ratio", "3:2", "ratio", "2:1", "3:2"),
    ("ratio", " 1:1 ", "ratio", "1:1", "ratio", "2:1", "1:1"),
    ("cap", "7500.25", "cap_minor", 750_025, "cap_minor", 500_000, 750_025),
    ("per_gift_limit", "400", "per_gift_limit_minor", 40_000, "per_gift_limit_minor",
     25_000, 40_000),
    ("per_gift_limit", "", "per_gift_limit_minor", None, "per_gift_limit_minor",
     25_000, None),
    ("min_gift", "12.50", "min_gift_minor", 1_250, "min_gift_minor", 1_000, 1_250),
    ("min_gift", "", "min_gift_minor", 0, "min_gift_minor", 1_000, 0),
    ("first_time_only", None, "first_time_only", False, "first_time_only", True, False),
    ("monthly_rule", "x12", "monthly_rule", "x12", "monthly_rule", "once", "x12"),
    ("starts_at", "", "starts_at", None, "starts_at", "2026-12-01 09:00:00", None),
    ("ends_at", "2027-01-31T23:59", "ends_at", datetime(2027, 1, 31, 23, 59), "ends_at",
     "2026-12-31 18:30:00", "2027-01-31 23:59:00"),
])
def test_each_term_can_be_changed_and_only_that_change_is_audited(
        db, appeal, staff_client, field, typed, column, stored, key, old, new):
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal)
    response = edit(editor, appeal, pool, **{field: typed})
    assert response.status_code == 303, response.data[:3000]
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved the pool&#39;s changes. They apply to gifts from now on" in page
    assert getattr(pool_row(db, pool.id), column) == stored
    event = last_audit(db)
    assert (event.action, event.target_id, event.actor_email) == \
        ("pool.changed", str(pool.id), "editor@example.org")
    assert json.loads(event.details) == {"currency": "USD", key: [old, new]}


def test_several_terms_change_at_once_in_one_audit_row(db, appeal, staff_client):
    admin = staff_client("admin")
    pool = make_pool(admin, db, appeal)
    response = edit(admin, appeal, pool, sponsor="", anonymous="y", ratio="1:2",
                    first_time_only=None, monthly_rule="x12")
    assert response.status_code == 303
    row = pool_row(db, pool.id)
    assert (row.sponsor_name, row.is_anonymous, row.ratio, row.first_time_only,
            row.monthly_rule) == ("", True, "1:2", False, "x12")
    assert audit_details(db) == {
        "currency": "USD", "sponsor_name": ["Ruth's Bakery", ""], "anonymous": [False, True],
        "ratio": ["2:1", "1:2"], "first_time_only": [True, False],
        "monthly_rule": ["once", "x12"]}
    assert audit_actions(db) == ["pool.created", "pool.changed"]


BAD_EDITS = [
    # changes, the field the message sits beside, the message
    ({"ratio": "0:1"}, "ratio", "Write the ratio as two whole numbers"),
    ({"ratio": "1:0"}, "ratio", "Write the ratio as two whole numbers"),
    ({"ratio": "-1:1"}, "ratio", "Write the ratio as two whole numbers"),
    ({"ratio": "1001:1"}, "ratio", "Write the ratio as two whole numbers"),
    ({"ratio": "1.5:1"}, "ratio", "Write the ratio as two whole numbers"),
    ({"ratio": "2:1\x00"}, "ratio", "Write the ratio as two whole numbers"),
    ({"ratio": ""}, "ratio", "This field is required"),
    ({"ratio": "1:1; DROP TABLE"}, "ratio", "Field cannot be longer"),
    ({"sponsor": ""}, "sponsor", "Give the sponsor"),
    ({"sponsor": "x" * 121}, "sponsor", "Field cannot be longer than 120"),
    ({"sponsor": "x" * 100_000}, "sponsor", "Field cannot be longer than 120"),
    ({"sponsor": "Bad\x00name"}, "sponsor", "characters that cannot be shown"),
    ({"sponsor": "Two\nlines"}, "sponsor", "characters that cannot be shown"),
    ({"sponsor": "Ruth\u202e yrekaB"}, "sponsor", "characters that cannot be shown"),
    ({"cap": ""}, "cap", "This field is required"),
    ({"cap": "0"}, "cap", "Enter a cap more than zero"),
    ({"cap": "-5"}, "cap", "Enter an amount like 250"),
    ({"cap": "99999999999999999999"}, "cap", "Enter a cap more than zero"),
    ({"cap": "100"}, "per_gift_limit", "not more than the cap"),  # below the limit of 250
    ({"per_gift_limit": "6000"}, "per_gift_limit", "not more than the cap"),
    ({"per_gift_limit": "0"}, "per_gift_limit", "must be more than zero"),
    ({"per_gift_limit": "-1"}, "per_gift_limit", "Enter an amount like 250"),
    ({"per_gift_limit": "1e3"}, "per_gift_limit", "Enter an amount like 250"),
    ({"min_gift": "-1"}, "min_gift", "Enter an amount like 250"),
    ({"min_gift": "-0.01"}, "min_gift", "Enter an amount like 250"),
    ({"min_gift": "200000000"}, "min_gift", "Enter a minimum gift of zero or more"),
    ({"monthly_rule": "x13"}, "monthly_rule", "Not a valid choice"),
    ({"monthly_rule": ""}, "monthly_rule", "Not a valid choice"),
    ({"ends_at": "2026-11-30T10:00"}, "ends_at", "must close after it opens"),
    ({"starts_at": "1900-01-01T00:00"}, "starts_at", "between the years 2000 and 2100"),
    ({"ends_at": "yesterday"}, "ends_at", "Not a valid datetime"),
    # one bad field refuses the whole change, the good parts too
    ({"sponsor": "A new name", "anonymous": "y", "ratio": "0:1"}, "ratio",
     "Write the ratio as two whole numbers"),
]


@pytest.mark.parametrize("changes, field, message", BAD_EDITS)
def test_a_bad_change_is_refused_beside_its_field_and_changes_nothing(
        db, appeal, staff_client, changes, field, message):
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal)
    before = snapshot(db)
    response = edit(editor, appeal, pool, **changes)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    error = text.split(f'id="p{pool.id}-{field}-error"', 1)
    assert len(error) == 2, f"no error beside {field}: {text[:5000]}"
    assert message in error[1].split("</p>", 1)[0]
    assert f'aria-describedby="p{pool.id}-{field}-' in text
    assert snapshot(db) == before


@pytest.mark.parametrize("changes, code", [
    ({"ratio": (0, 1)}, "ratio out of range"),
    ({"ratio": (1, 0)}, "ratio out of range"),
    ({"ratio": (-1, 1)}, "ratio out of range"),
    ({"ratio": (1001, 1)}, "ratio out of range"),
    ({"cap_minor": 0}, "cap must be positive"),
    ({"cap_minor": 10**15}, "cap too large"),
    ({"cap_minor": 20_000}, "per-gift limit above the cap"),
    ({"per_gift_limit_minor": 500_001}, "per-gift limit above the cap"),
    ({"per_gift_limit_minor": 0}, "per-gift limit must be positive"),
    ({"per_gift_limit_minor": -5}, "per-gift limit must be positive"),
    ({"min_gift_minor": -1}, "minimum gift out of range"),
    ({"sponsor_name": "x" * 121}, "sponsor name too long"),
    ({"sponsor_name": "a\x1bb"}, "sponsor name has control characters"),
    ({"sponsor_name": "a\u2066b"}, "sponsor name has control characters"),
    ({"sponsor_name": "   "}, "name the sponsor or make the pool anonymous"),
    ({"monthly_rule": "x13"}, "monthly rule unknown"),
    ({"ends_at": datetime(2026, 11, 1)}, "the pool must end after it starts"),
    ({"starts_at": datetime(1999, 12, 31)}, "window out of range"),
])
def test_the_service_refuses_bad_terms_itself(db, appeal, staff_client, changes, code):
    """Not only the form: change_match_pool checks what it is given, with the
    same checks as create_match_pool."""
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal)
    before = snapshot(db)
    with pytest.raises(pool_services.PoolError, match=code):
        pool_services.change_match_pool(db.session, pool.id, actor=None, **changes)
    db.session.rollback()
    assert snapshot(db) == before
    with pytest.raises(pool_services.PoolError, match=code):
        pool_services.create_match_pool(db.session, appeal=appeal, actor=None, **{
            **asdict(pool_services.PoolTerms.of(pool_row(db, pool.id))), **changes})
    db.session.rollback()
    assert snapshot(db) == before


@pytest.mark.parametrize("role", ["viewer", "finance"])
def test_viewers_and_finance_cannot_change_a_pool(db, appeal, staff_client, role):
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal)
    data = form_values(editor, appeal, pool)
    data.update({f"p{pool.id}-sponsor": "Taken over", f"p{pool.id}-ratio": "1000:1",
                 f"p{pool.id}-cap": "99999"})
    other = staff_client(role)
    before = snapshot(db)
    assert other.post(f"/staff/appeals/{appeal.id}/pools/{pool.id}", data).status_code == 403
    assert other.get(f"/staff/appeals/{appeal.id}/pools").status_code == 403
    assert snapshot(db) == before


def test_the_public_pages_and_the_api_show_the_new_terms(db, appeal, staff_client, client):
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal, starts_at="", ends_at="", first_time_only=None)
    assert "Ruth&#39;s Bakery matches gifts 2:1" in client.get("/appeals/test-appeal").text
    response = edit(editor, appeal, pool, sponsor="Miriam & Sons", ratio="3:1")
    assert response.status_code == 303
    body = client.get("/api/v1/appeals/test-appeal").get_json()
    assert [(p["sponsor"], p["ratio"]) for p in body["match_pools"]] == [("Miriam & Sons", "3:1")]
    page = client.get("/appeals/test-appeal").text
    assert "Miriam &amp; Sons matches gifts 3:1" in page and "Ruth" not in page
    ledger = client.get("/appeals/test-appeal/matching").text
    assert "Miriam &amp; Sons" in ledger and "Ruth" not in ledger
    edit(editor, appeal, pool, anonymous="y")
    body = client.get("/api/v1/appeals/test-appeal").get_json()
    assert body["match_pools"][0]["sponsor"] == "Anonymous"
    assert "Miriam" not in client.get("/appeals/test-appeal/matching").text
    assert "Miriam" not in client.get("/appeals/test-appeal").text


def test_with_the_page_cache_on_a_pool_change_shows_at_once(database_url):
    """The public appeal page and API are cached per process (60 s here):
    the process that saves a pool change drops its copies."""
    from fundraiser.extensions import db as _db
    from tests.conftest import make_app
    from tests.functional.staff.conftest import PASSWORD, StaffClient

    app = make_app(database_url, PUBLIC_CACHE_SECONDS=60)
    with app.app_context():
        appeal = create_appeal(_db.session)
        pool = matching.create_pool(_db.session, appeal_id=appeal.id, currency="USD",
                                    cap_minor=100_000, sponsor_name="Ruth's Bakery")
        user, _ = services.create_staff(_db.session, "editor@example.org", "editor")
        services.set_password(_db.session, user, PASSWORD)
        _db.session.commit()
        visitor = app.test_client()
        assert visitor.get("/api/v1/appeals/test-appeal").get_json()[
            "match_pools"][0]["sponsor"] == "Ruth's Bakery"
        assert "Ruth&#39;s Bakery matches gifts 1:1" in visitor.get("/appeals/test-appeal").text
        editor = StaffClient(app, user.email)
        assert editor.login().status_code == 302
        assert edit(editor, appeal, pool, sponsor="Miriam", ratio="2:1").status_code == 303
        pools = visitor.get("/api/v1/appeals/test-appeal").get_json()["match_pools"]
        assert [(p["sponsor"], p["ratio"]) for p in pools] == [("Miriam", "2:1")]
        page = visitor.get("/appeals/test-appeal").text
        assert "Miriam matches gifts 2:1" in page and "Ruth" not in page
        _db.session.remove()
        _db.engine.dispose()


def give(db, appeal, amount, email):
    gift = create_donation(db.session, appeal, amount_minor=amount, email=email)
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    return gift.payment_id


def pool_ledger(db, pool_id):
    db.session.expire_all()
    return int(db.session.scalar(select(func.coalesce(func.sum(MatchEntry.amount_minor), 0))
                                 .where(MatchEntry.pool_id == pool_id)))


def test_after_a_ratio_change_a_refund_gives_back_exactly_the_original_match(
        db, appeal, staff_client):
    editor = staff_client("editor")
    pool = make_pool(editor, db, appeal, ratio="1:1", cap="1000", starts_at="", ends_at="",
                     per_gift_limit="", min_gift="", first_time_only=None)
    early = give(db, appeal, 30_000, "early@example.org")        # $300 matched 1:1
    disputed = give(db, appeal, 10_001, "disputed@example.org")  # $100.01 matched 1:1
    assert match_ledger.net_for_payment(db.session, early) == 30_000
    assert edit(editor, appeal, pool, ratio="2:1").status_code == 303
    late = give(db, appeal, 5_000, "late@example.org")           # the new ratio: $100
    assert match_ledger.net_for_payment(db.session, late) == 10_000
    # a partial refund of the early gift keeps its share at the ratio it had: 1:1
    payments.apply_refund_total(db.session, early, 10_000)
    db.session.commit()
    assert match_ledger.net_for_payment(db.session, early) == 20_000
    payments.apply_refund_total(db.session, early, 30_000)
    payments.transition_to(db.session, disputed, states.DISPUTED)
    db.session.commit()
    for payment_id, original in ((early, 30_000), (disputed, 10_001)):
        rows = db.session.scalars(select(MatchEntry).where(
            MatchEntry.payment_id == payment_id).order_by(MatchEntry.id)).all()
        allocation, *reversals = rows
        assert (allocation.kind, allocation.amount_minor) == ("allocation", original)
        assert all(r.kind == "reversal" and r.reverses_id == allocation.id for r in reversals)
        assert -sum(r.amount_minor for r in reversals) == original   # exactly, no more
    assert match_ledger.net_for_payment(db.session, late) == 10_000      # untouched
    row = pool_row(db, pool.id)
    assert row.ratio == "2:1"
    assert (row.cap_minor, row.remaining_minor) == (100_000, 90_000)
    assert pool_ledger(db, pool.id) == row.cap_minor - row.remaining_minor == 10_000
    body = editor.get(f"/staff/appeals/{appeal.id}/pools").get_data(as_text=True)
    assert "$100.00" in body and "$900.00" in body
