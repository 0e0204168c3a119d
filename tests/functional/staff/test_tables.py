"""Donations table filters on a generated dataset, donors, CSV export with
its formula-injection guard, the audit log's append-only guard, charts."""

import csv
import io
import random
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from werkzeug.datastructures import MultiDict

from fundraiser.donations import services as donations
from fundraiser.donations.models import Donation
from fundraiser.money import Money
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.staff import reports, services, stats
from fundraiser.staff.csv_export import _csv_safe
from fundraiser.staff.models import AuditEvent, AuditLogIsAppendOnly
from tests.factories import create_appeal

NAMES = ["Dana Levi", "Omar Haddad", "Yael Cohen", "Lina Saleh", "Tom Weiss", "Noa Peretz"]


@pytest.fixture
def dataset(db):
    """~150 gifts over two appeals and three currencies, statuses, sources, dates."""
    rng = random.Random(7)
    usd = create_appeal(db.session, slug="usd-appeal", currency="USD")
    ils = create_appeal(db.session, slug="ils-appeal", currency="ILS")
    jpy = create_appeal(db.session, slug="jpy-appeal", currency="JPY")
    records = []
    base = datetime(2026, 10, 1, 12, 0)
    for i in range(150):
        appeal = rng.choice([usd, usd, ils, jpy])
        major = rng.choice([5, 10, 25, 50, 100, 250, 1000])
        name = rng.choice(NAMES)
        email = f"{name.split()[0].lower()}{i % 9}@example.org"
        source = rng.choice(["", "", "newsletter", "partner-a"])
        d = donations.start_donation(db.session, appeal, amount=Money.from_major(
            major, appeal.currency), name=name, email=email, source=source)
        status = rng.choice([states.SUCCEEDED] * 4 + [states.FAILED, states.CREATED,
                                                      states.REFUNDED])
        if status == states.SUCCEEDED or status == states.REFUNDED:
            payments.transition_to(db.session, d.payment_id, states.SUCCEEDED)
        if status == states.REFUNDED:
            payments.apply_refund_total(db.session, d.payment_id, d.amount_minor)
        if status == states.FAILED:
            payments.transition_to(db.session, d.payment_id, states.FAILED)
        at = base + timedelta(days=rng.randrange(0, 40), minutes=i)
        db.session.execute(update(Donation).where(Donation.id == d.id).values(created_at=at))
        records.append(dict(id=d.id, appeal_id=appeal.id, currency=appeal.currency,
                            major=major, name=name, email=email, source=source,
                            status=status, at=at))
    db.session.commit()
    return records


def ids_for(db, **args):
    f = reports.parse_filters(MultiDict({k: str(v) for k, v in args.items()}))
    assert not f.errors, f.errors
    table = reports.donations_page(db.session, f, 1, per_page=10_000)
    assert table.total == len(table.rows)
    return {row[0].id for row in table.rows}


CASES = {
    "status": (dict(status="succeeded"), lambda r: r["status"] == "succeeded"),
    "currency": (dict(currency="ILS"), lambda r: r["currency"] == "ILS"),
    "amount range": (dict(amount_min="25", amount_max="100"),
                     lambda r: 25 <= r["major"] <= 100),
    "amount + currency": (dict(amount_min="50", currency="JPY"),
                          lambda r: r["currency"] == "JPY" and r["major"] >= 50),
    "dates": (dict(date_from="2026-10-10", date_to="2026-10-20"),
              lambda r: date(2026, 10, 10) <= r["at"].date() <= date(2026, 10, 20)),
    "source": (dict(source="partner-a"), lambda r: r["source"] == "partner-a"),
    "search name": (dict(q="cohen"), lambda r: "cohen" in r["name"].lower()),
    "search email": (dict(q="OMAR3@"), lambda r: r["email"].startswith("omar3@")),
    "combined": (dict(status="refunded", currency="USD", amount_max="250"),
                 lambda r: r["status"] == "refunded" and r["currency"] == "USD"
                 and r["major"] <= 250),
}


def test_filters_return_exactly_the_right_rows(db, dataset):
    for case, (args, keep) in sorted(CASES.items()):
        expected = {r["id"] for r in dataset if keep(r)}
        assert expected, f"the dataset should have rows for {case}"
        assert ids_for(db, **args) == expected, case


def test_appeal_filter_and_like_wildcards_are_literal(db, dataset):
    appeal_id = dataset[0]["appeal_id"]
    assert ids_for(db, appeal=appeal_id) == {r["id"] for r in dataset
                                             if r["appeal_id"] == appeal_id}
    assert ids_for(db, q="%") == set() and ids_for(db, q="_") == set()


def test_sorting_and_paging_through_http(db, dataset, staff_client):
    viewer = staff_client("viewer")
    page = viewer.get("/staff/donations?sort=amount&direction=asc&currency=USD")
    assert page.status_code == 200
    usd = [r for r in dataset if r["currency"] == "USD"]
    assert f"Donations found: {len(usd)}".encode() in page.data
    amounts = [int(m.replace(",", "")) for m in
               re.findall(r'<td class="num">\$([\d,]+)\.00', page.data.decode())]
    assert amounts == sorted(amounts) and len(amounts) == min(50, len(usd))
    second = viewer.get("/staff/donations?sort=amount&direction=asc&currency=USD&page=2")
    assert b"Page 2 of" in second.data
    queries = re.search(rb"(\d+) database queries", page.data)
    assert queries and int(queries.group(1)) <= 12  # no query per row
    bad = viewer.get("/staff/donations?amount_min=abc&date_from=yesterday")
    assert bad.status_code == 200 and b"could not be read" in bad.data


@pytest.mark.parametrize("sort", sorted(reports.SORTS))
def test_next_and_previous_walk_every_row_once_in_order(db, dataset, sort):
    """Cursors give the same rows as one big query, ties included (many gifts
    share an amount, a name or a status), forwards and back."""
    for direction in ("asc", "desc"):
        f = reports.parse_filters(MultiDict({"sort": sort, "direction": direction}))
        everything = [r[0].id for r in reports.donations_page(db.session, f, 1,
                                                              per_page=10_000).rows]
        assert len(everything) == len(dataset)
        table = reports.donations_page(db.session, f, 1, per_page=7)
        pages, walked = [], []
        while True:
            pages.append([r[0].id for r in table.rows])
            walked += pages[-1]
            if not table.next_cursor:
                break
            table = reports.donations_page(db.session, f, cursor=table.next_cursor,
                                           per_page=7)
        assert walked == everything and table.page == table.pages == len(pages)
        back = []
        while table.prev_cursor:
            table = reports.donations_page(db.session, f, cursor=table.prev_cursor,
                                           per_page=7)
            back.append([r[0].id for r in table.rows])
        assert back == pages[-2::-1] and table.page == 1


@pytest.mark.parametrize("cursor", ["", "%%%", "bm9wZQ", "W10", "WzEsIm4iLCJ4IiwxXQ",
                                    "WzEsIm4iLHRydWUsMV0", "x" * 700])
def test_a_broken_cursor_shows_the_first_page(db, dataset, staff_client, cursor):
    viewer = staff_client("viewer")
    page = viewer.get(f"/staff/donations?sort=amount&cursor={cursor}")
    assert page.status_code == 200 and b"Page 1 of" in page.data


def test_the_next_link_leads_to_the_next_rows(db, dataset, staff_client):
    viewer = staff_client("viewer")
    first = viewer.get("/staff/donations?sort=name&direction=asc").text
    link = re.search(r'<a href="([^"]+)" rel="next">', first)[1].replace("&amp;", "&")
    second = viewer.get(link).text
    assert "Page 2 of" in second and "cursor=" in link and "sort=name" in link
    ids = [re.findall(r'href="/staff/donations/(\d+)"', html) for html in (first, second)]
    assert ids[0] and ids[1] and not set(ids[0]) & set(ids[1])
    back = re.search(r'<a href="([^"]+)" rel="prev">', second)[1].replace("&amp;", "&")
    assert re.findall(r'href="/staff/donations/(\d+)"', viewer.get(back).text) == ids[0]


def test_donors_are_one_row_per_email_with_lifetime_giving(db, dataset, staff_client):
    rows = db.session.execute(reports.donors_query(db.session)).all()
    counted = [r for r in dataset if r["status"] in ("succeeded", "refunded")]
    keys = {(r["email"], r["currency"]) for r in counted}
    assert {(r.email, r.currency) for r in rows} == keys
    one = rows[0]
    expected = sum(Money.from_major(r["major"], r["currency"]).minor for r in counted
                   if (r["email"], r["currency"]) == (one.email, one.currency)
                   and r["status"] == "succeeded")
    assert int(one.lifetime) == expected
    viewer = staff_client("viewer")
    assert viewer.get("/staff/donors").status_code == 200
    page = viewer.get(f"/staff/donors/gifts?email={one.email.upper()}")
    assert page.status_code == 200
    assert Money(expected, one.currency).format("en").encode() in page.data


def test_csv_cells_that_look_like_formulas_are_defused():
    for raw in ("=SUM(A1)", "+1", "-2", "@cmd", "\tx", "\rx"):
        assert _csv_safe(raw) == "'" + raw
    assert _csv_safe("Dana") == "Dana" and _csv_safe(2500) == "2500"
    assert _csv_safe(None) == "" and _csv_safe(True) == "yes"


def test_csv_export_streams_filtered_rows_with_the_guard(db, staff_client):
    appeal = create_appeal(db.session)
    for name, comment in (("=HYPERLINK(\"http://x\")", "@SUM(1)"), ("Plain Name", "-1+1"),
                          ("Other", "")):
        d = donations.start_donation(db.session, appeal, amount=Money(1500, "USD"), name=name,
                                     email="e@example.org", comment=comment)
        payments.transition_to(db.session, d.payment_id, states.SUCCEEDED)
    db.session.commit()
    finance = staff_client("finance")
    response = finance.get("/staff/donations.csv?q=name")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:4] == ["id", "created_at", "appeal", "name"]
    assert [r[3] for r in rows[1:]] == ["Plain Name"]
    assert rows[1][rows[0].index("comment")] == "'-1+1"
    assert [rows[1][rows[0].index(k)] for k in ("amount_minor", "amount", "refunded")] == \
        ["1500", "15.00", "0.00"]
    everything = list(csv.reader(io.StringIO(finance.get("/staff/donations.csv")
                                             .get_data(as_text=True))))
    names = [r[3] for r in everything[1:]]
    assert "'=HYPERLINK(\"http://x\")" in names and len(names) == 3
    comments = [r[everything[0].index("comment")] for r in everything[1:]]
    assert "'@SUM(1)" in comments
    donors = finance.get("/staff/donors.csv").get_data(as_text=True)
    assert "e@example.org" in donors
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "export.donations").limit(1))


def test_the_audit_log_is_append_only(db, staff_client):
    admin = staff_client("admin")
    event = services.audit(db.session, None, "test.something", "appeal", 1, note="x")
    db.session.commit()
    event.action = "changed"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    # and the database refuses it too, even without the ORM
    for sql in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()
    page = admin.get("/staff/audit?action=test.")
    assert page.status_code == 200 and b"test.something" in page.data
    assert b"<code>staff.login</code>" not in page.data  # filtered out
    assert b"<code>staff.login</code>" in admin.get("/staff/audit").data


def test_charts_are_svg_without_script_under_a_strict_policy(db, dataset, staff_client):
    viewer = staff_client("viewer")
    for url in ("/staff/charts/time.svg", "/staff/charts/time.svg?span=hour&appeal=1",
                "/staff/charts/currency.svg", "/staff/charts/source.svg?appeal=1"):
        response = viewer.get(url)
        assert response.status_code == 200 and response.mimetype == "image/svg+xml", url
        body = response.get_data(as_text=True)
        assert "<svg" in body and "<script" not in body.lower(), url
        assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    assert viewer.get("/staff/charts/nope.svg").status_code == 404


def test_dashboard_figures_and_json(db, dataset, staff_client):
    viewer = staff_client("viewer")
    usd_id = dataset[0]["appeal_id"] if dataset[0]["currency"] == "USD" else None
    counted = [r for r in dataset if r["status"] == "succeeded" and r["currency"] == "USD"]
    body = viewer.get("/staff/api/recent").get_json()
    usd = next(f for f in body["figures"] if f["currency"] == "USD")
    assert usd["gifts"] == len(counted)
    assert usd["raised_minor"] == sum(r["major"] * 100 for r in counted)
    majors = sorted(r["major"] for r in counted)
    n = len(majors)
    median = majors[n // 2] * 100 if n % 2 else (majors[n // 2 - 1] + majors[n // 2]) * 50
    assert usd["median"] == Money(median, "USD").format("en")
    assert len(body["gifts"]) == 10
    page = viewer.get("/staff/")
    assert page.status_code == 200 and b'data-poll-url="/staff/api/recent"' in page.data
    assert b"style=" not in page.data and b"<script>" not in page.data
    if usd_id:
        assert viewer.get(f"/staff/?appeal={usd_id}&span=hour").status_code == 200
    assert viewer.get("/staff/?appeal=99999").status_code == 404


@pytest.mark.parametrize("amounts, median", [([1000], 1000), ([500, 2500, 1000], 1000),
                                             ([500, 2500, 1000, 5001], 1750),
                                             ([100, 101], 100)])
def test_average_and_median_are_exact_in_minor_units(db, amounts, median):
    appeal = create_appeal(db.session)
    for minor in amounts:
        d = donations.start_donation(db.session, appeal, amount=Money(minor, "USD"),
                                     name="A", email=f"{minor}@example.org")
        payments.transition_to(db.session, d.payment_id, states.SUCCEEDED)
    failed = donations.start_donation(db.session, appeal, amount=Money(99900, "USD"),
                                      name="F", email="f@example.org")
    payments.transition_to(db.session, failed.payment_id, states.FAILED)
    db.session.commit()
    f = stats.figures(db.session, currency="USD", goal_minor=appeal.goal_minor,
                      appeal_id=appeal.id)
    assert (f.gift_count, f.donor_count, f.raised_minor) == (len(amounts), len(amounts),
                                                             sum(amounts))
    assert f.median_minor == median and f.average_minor == sum(amounts) // len(amounts)
