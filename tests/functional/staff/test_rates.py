"""The exchange-rate page (issue 19): finance and admin staff import the
ECB's file or set a rate; a bad file or figure changes nothing. And the
appeal editor's other currencies."""

import io
from pathlib import Path

from sqlalchemy import select

from fundraiser.appeals.models import Appeal
from fundraiser.rates import services as rates
from fundraiser.rates.models import ExchangeRate
from fundraiser.staff.models import AuditEvent
from tests.factories import create_appeal
from tests.functional.staff.conftest import snapshot

ECB_CSV = (Path(__file__).parent.parent.parent / "fixtures" / "eurofxref.csv").read_bytes()


def upload(sc, data: bytes, name="eurofxref.csv"):
    return sc.post("/staff/rates/ecb", {"ecb-ecb_file": (io.BytesIO(data), name)},
                   content_type="multipart/form-data")


def test_finance_imports_the_ecb_file_and_sees_the_rates(db, staff_client):
    finance = staff_client("finance")
    response = upload(finance, ECB_CSV)
    assert response.status_code == 303, response.data[:2000]
    page = finance.get("/staff/rates").data.decode()
    assert "Imported 30 rates of 2026-12-04 from the ECB&#39;s file." in page \
        or "Imported 30 rates of 2026-12-04 from the ECB's file." in page
    assert "3.7865" in page and "180.93" in page
    assert "No rate: donors cannot choose this currency." in page     # e.g. JOD
    db.session.rollback()
    assert rates.current_rates(db.session)["ILS"].source == "ecb"
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rate.ecb_import"))
    assert audit is not None and audit.actor_email == "finance@example.org"


def test_a_malformed_or_hostile_file_is_refused_and_changes_nothing(db, staff_client):
    finance = staff_client("finance")
    upload(finance, ECB_CSV)
    before = snapshot(db)
    cases = [
        (b"Date, USD, JPY, \n04 December 2026, 1.1642, \n", "Nothing was imported: The "
         "header names 2 currencies but the rates row has 1 figures."),
        (b"Date, USD, \n05 December 2026, -1.5, \n", "The rate for USD"),
        (b"Date, USD, \n05 December 2026, =HYPERLINK(1), \n", "The rate for USD"),
        (b"<html><script>alert(1)</script></html>", "Expected a header row"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not text"),
        (b"Date, USD, \n" + b"9" * 70_000, "too large"),
        (b"Date, USD, \n04 December 2999, 1.2, \n", "in the future"),
    ]
    for data, says in cases:
        response = upload(finance, data)
        assert response.status_code == 422, data[:40]
        text = response.data.decode()
        assert says.replace("'", "&#39;") in text or says in text, (data[:40], says)
        assert "<script>alert(1)" not in text
    assert upload(finance, b"", name="").status_code == 422      # no file chosen
    finance.get("/lang/he")                                       # the reason, in Hebrew
    text = upload(finance, cases[0][0]).data.decode()
    assert "דבר לא יובא: הכותרת מציינת 2 מטבעות, אבל בשורת השערים יש 1 מספרים." in text
    assert snapshot(db) == before


def test_finance_sets_a_rate_by_hand_and_bad_figures_are_refused(db, staff_client):
    finance = staff_client("finance")
    before = snapshot(db)
    for rate, day in (("-3", "2026-12-05"), ("3,79", "2026-12-05"), ("1e5", "2026-12-05"),
                      ("", "2026-12-05"), ("3.7", "not-a-date")):
        response = finance.post("/staff/rates", {"rate-currency": "ILS", "rate-rate": rate,
                                                 "rate-day": day})
        assert response.status_code == 422, rate
    response = finance.post("/staff/rates", {"rate-currency": "XXX", "rate-rate": "3.7",
                                             "rate-day": "2026-12-05"})
    assert response.status_code == 422
    assert "Choose one of the listed currencies." in response.data.decode()
    assert snapshot(db) == before
    response = finance.post("/staff/rates", {"rate-currency": "ILS", "rate-rate": "3.79",
                                             "rate-day": "2026-12-05"})
    assert response.status_code == 303
    db.session.rollback()
    row = db.session.scalar(select(ExchangeRate))
    assert (row.currency, row.rate, row.source, row.updated_by) == \
        ("ILS", "3.79", "staff", "finance@example.org")


def test_the_editor_sets_other_currencies_with_their_own_amounts(db, staff_client):
    appeal = create_appeal(db.session)
    db.session.commit()
    editor = staff_client("editor")
    form = {"slug": "test-appeal", "title": "Test appeal", "language": "en",
            "currency": "USD", "goal": "10000", "suggested": "18, 36, 100",
            "status": "published", "submit": "1"}
    before = snapshot(db)
    for lines, says in (("XYZ 1, 2", "Line 1: start with a currency code the app takes"),
                        ("ILS 50, abc", "Line 1: after the code, separate amounts"),
                        ("ILS 50\nILS 60", "List each other currency once"),
                        ("USD 5", "List each other currency once"),
                        ("ILS 0", "Suggested amounts must be more than zero."),
                        ("ILS 99999999999", "A suggested amount is too large.")):
        response = editor.post(f"/staff/appeals/{appeal.id}/edit",
                               {**form, "other_currencies": lines})
        assert response.status_code == 422, lines
        assert says in response.data.decode(), lines
    assert snapshot(db) == before
    response = editor.post(f"/staff/appeals/{appeal.id}/edit",
                           {**form, "other_currencies": "ils 50, 100, 180\nEUR 20, 50",
                            "second_currency": "ILS"})
    assert response.status_code == 303, response.data[:3000]
    db.session.rollback()
    saved = db.session.scalar(select(Appeal))
    assert saved.accepted_currencies == ["USD", "ILS", "EUR"]
    assert [m.minor for m in saved.suggested_in("ILS")] == [5_000, 10_000, 18_000]
    assert saved.second_currency == "ILS"
    page = editor.get(f"/staff/appeals/{appeal.id}/edit").data.decode()
    assert "ILS 50.00, 100.00, 180.00\nEUR 20.00, 50.00" in page
    # saved again with one currency fewer: kept rows change in place
    response = editor.post(f"/staff/appeals/{appeal.id}/edit",
                           {**form, "other_currencies": "EUR 25", "second_currency": ""})
    assert response.status_code == 303
    db.session.rollback()
    saved = db.session.scalar(select(Appeal))
    assert saved.accepted_currencies == ["USD", "EUR"] and saved.second_currency is None
