"""A gift in another currency than its appeal's (issue 19): the receipt
(mail and PDF), the staff gift page, the staff totals and the export show
both figures — what the donor paid, and what it counts for."""

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from fundraiser.appeals import services as appeals
from fundraiser.donations import services as donations
from fundraiser.donations.models import Donation
from fundraiser.money import Money
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.rates import services as rates
from tests.factories import create_appeal
from tests.pdfs import attachments, pdf_text

ECB_CSV = (Path(__file__).parent.parent.parent / "fixtures" / "eurofxref.csv").read_bytes()


@pytest.fixture
def shekel_gift(app, db):
    app.config.update(RECEIPT_PDF_ATTACHED=True, ORG_NAME="Bread and Roses Fund")
    rates.import_ecb(db.session, ECB_CSV)
    appeal = create_appeal(db.session)
    appeals.set_currencies(db.session, appeal, [("ILS", [Money.from_major(180, "ILS")])])
    gift = donations.start_donation(db.session, appeal, amount=Money(18_000, "ILS"),
                                    name="Dana Levi", email="dana@example.org")
    db.session.commit()
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    return gift


def test_the_receipt_says_what_was_paid_and_what_it_counts_for(app, db, shekel_gift):
    [mail] = [m for m in app.extensions["mailman"].outbox if m.to == ["dana@example.org"]]
    assert "Thank you for your gift of ₪180.00" in mail.body
    assert "Counted towards the appeal as $55.34 (1 ILS = 0.307461 USD, rates of " \
           "Dec 4, 2026)." in mail.body
    [pdf] = attachments(mail).values()
    text = pdf_text(pdf)
    assert "₪180.00" in text and "$55.34" in text


def test_staff_see_both_figures_on_the_gift_the_totals_and_the_export(
        db, shekel_gift, staff_client):
    finance = staff_client("finance")
    page = finance.get(f"/staff/donations/{shekel_gift.id}").data.decode()
    assert "₪180.00" in page and "Counted as" in page and "$55.34" in page
    dashboard = finance.get(f"/staff/?appeal={shekel_gift.appeal_id}").data.decode()
    assert "$55.34" in dashboard or "$55" in dashboard
    rows = list(csv.reader(io.StringIO(finance.get("/staff/donations.csv")
                                       .get_data(as_text=True))))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["amount_minor"], row["currency"], row["amount"]) == ("18000", "ILS", "180.00")
    assert (row["appeal_currency"], row["counted_minor"], row["rate"], row["rate_date"]) == \
        ("USD", "5534", "0.307460715701", "2026-12-04")
    payments.apply_refund_total(db.session, shekel_gift.payment_id, 9_000)
    db.session.commit()
    rows = list(csv.reader(io.StringIO(finance.get("/staff/donations.csv")
                                       .get_data(as_text=True))))
    assert dict(zip(rows[0], rows[1], strict=True))["counted_minor"] == "2767"
    db.session.rollback()
    assert db.session.scalar(select(Donation.converted_minor)) == 5_534   # stored, unchanged
