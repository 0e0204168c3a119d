"""Gifts paid in another currency than their appeal's, as staff see them
(issue 19): the donations list shows both figures, the appeal dashboard
breaks the money down by the currency it was paid in, and an offline gift
may be recorded in any currency the appeal takes, converted as a card
gift is."""

import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fundraiser.appeals import services as appeals
from fundraiser.donations import services as donations
from fundraiser.donations.models import Donation
from fundraiser.money import Money
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.models import Payment
from fundraiser.rates import services as rates
from fundraiser.staff.models import AuditEvent, OfflineGift
from tests.factories import create_appeal

ECB_CSV = (Path(__file__).parent.parent.parent / "fixtures" / "eurofxref.csv").read_bytes()
# From the fixture: 1 ILS = 0.307460715701 USD, rates of 4 December 2026.


@pytest.fixture
def dollar_appeal(db):
    """A USD appeal that also takes shekels, with the ECB's rates loaded."""
    rates.import_ecb(db.session, ECB_CSV)
    appeal = create_appeal(db.session)
    appeals.set_currencies(db.session, appeal, [("ILS", [Money.from_major(180, "ILS")])])
    db.session.commit()
    return appeal


def give(db, appeal, minor, currency, email, refund_minor=0):
    gift = donations.start_donation(db.session, appeal, amount=Money(minor, currency),
                                    name="Dana Levi", email=email)
    db.session.commit()
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    if refund_minor:
        payments.apply_refund_total(db.session, gift.payment_id, refund_minor)
        db.session.commit()
    return gift


def cells(page: str, currency: str) -> list[str]:
    """The text of each cell of the "By currency paid" row for `currency`."""
    row = re.search(rf'<tr data-paid-currency="{currency}">(.*?)</tr>', page, re.S)
    assert row, f"no {currency} row"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                  row.group(1), re.S)]


def test_the_donations_list_shows_what_was_paid_and_what_it_counts_for(
        db, dollar_appeal, staff_client):
    give(db, dollar_appeal, 18_000, "ILS", "dana@example.org")
    give(db, dollar_appeal, 2_500, "USD", "eli@example.org")
    page = staff_client("viewer").get(f"/staff/donations?appeal={dollar_appeal.id}") \
        .data.decode()
    assert "₪180.00" in page
    assert page.count('data-field="counted"') == 1          # only the shekel gift
    assert "counted as $55.34" in page                      # ₪180 at 0.30746…, rounded down
    assert "$25.00" in page and "counted as $25.00" not in page


def test_the_appeal_dashboard_breaks_the_money_down_by_currency_paid(
        db, dollar_appeal, staff_client):
    give(db, dollar_appeal, 5_000, "USD", "a@example.org")                   # $50.00
    give(db, dollar_appeal, 18_000, "ILS", "b@example.org")                  # → $55.34
    give(db, dollar_appeal, 10_000, "ILS", "c@example.org", refund_minor=4_000)
    give(db, dollar_appeal, 5_000, "ILS", "d@example.org", refund_minor=5_000)  # all back
    page = staff_client("viewer").get(f"/staff/?appeal={dollar_appeal.id}").data.decode()
    assert "By currency paid" in page
    assert cells(page, "USD") == ["USD", "1", "$50.00", "$50.00"]
    # ₪100 counted $30.74; ₪40 of it refunded leaves 60%: $18.44 (rounded down), as
    # the totals count it. The fully refunded gift is not counted at all.
    assert cells(page, "ILS") == ["ILS", "2", "₪240.00", "$73.78"]
    raised = donations.progress_for(db.session, dollar_appeal).raised_minor
    assert raised == 5_000 + 5_534 + 1_844                  # the rows add up to the total
    assert 'data-figure="raised">$123.78<' in page


def test_no_breakdown_when_every_gift_was_paid_in_one_currency(
        db, dollar_appeal, staff_client):
    give(db, dollar_appeal, 18_000, "ILS", "b@example.org")
    give(db, dollar_appeal, 10_000, "ILS", "c@example.org")
    page = staff_client("viewer").get(f"/staff/?appeal={dollar_appeal.id}").data.decode()
    assert "By currency paid" not in page and "data-paid-currency" not in page


def offline(staff, appeal, **fields):
    return staff.post("/staff/gifts/new", {
        "appeal": appeal.id, "amount": "100", "name": "Ruth Cohen",
        "email": "ruth@example.org", "method": "bank_transfer",
        "received_on": "2026-12-05", **fields})


def test_an_offline_gift_in_shekels_counts_its_converted_amount(
        db, client, dollar_appeal, staff_client):
    finance = staff_client("finance")
    form = finance.get("/staff/gifts/new").data.decode()
    assert '<option value="ILS">ILS</option>' in form
    response = offline(finance, dollar_appeal, currency="ILS", amount="100")
    assert response.status_code == 303, response.data[:2000]
    db.session.rollback()
    gift = db.session.scalar(select(Donation))
    assert (gift.amount_minor, gift.currency) == (10_000, "ILS")
    assert (gift.rate, gift.rate_date) == ("0.307460715701", date(2026, 12, 4))
    assert gift.converted_minor == 3_074 and gift.rate_fixed_at is not None
    assert donations.progress_for(db.session, dollar_appeal).raised_minor == 3_074
    body = client.get(f"/api/v1/appeals/{dollar_appeal.slug}").get_json()
    assert body["raised_minor"] == 3_074
    page = finance.get(response.headers["Location"]).data.decode()
    assert "Recorded ₪100.00 from Ruth Cohen." in page and "$30.74" in page
    # The audit log says what it was given in and what it counts as.
    entry = json.loads(db.session.scalar(select(AuditEvent.details).where(
        AuditEvent.action == "gift.offline_recorded")))
    assert (entry["amount_minor"], entry["currency"]) == (10_000, "ILS")
    assert (entry["counted_minor"], entry["counted_currency"]) == (3_074, "USD")
    assert (entry["rate"], entry["rate_date"]) == ("0.307460715701", "2026-12-04")


def test_an_offline_gift_in_a_currency_without_a_rate_is_refused_and_nothing_stored(
        db, staff_client):
    appeal = create_appeal(db.session)       # no rates loaded at all
    appeals.set_currencies(db.session, appeal, [("ILS", [Money.from_major(180, "ILS")])])
    db.session.commit()
    response = offline(staff_client("finance"), appeal, currency="ILS")
    assert response.status_code == 422
    page = response.data.decode()
    error = re.search(r'<p class="field-error" id="currency-error">(.*?)</p>', page, re.S)
    assert error and "no exchange rate from ILS to USD" in error.group(1)
    assert 'aria-invalid="true"' in page
    db.session.rollback()
    for table in (Donation, Payment, OfflineGift):
        assert db.session.scalar(select(func.count()).select_from(table)) == 0


def test_an_offline_gift_in_a_currency_the_appeal_does_not_take_is_refused(
        db, dollar_appeal, staff_client):
    other = create_appeal(db.session, slug="euro-appeal")
    appeals.set_currencies(db.session, other, [("EUR", [Money.from_major(20, "EUR")])])
    db.session.commit()
    response = offline(staff_client("finance"), dollar_appeal, currency="EUR")
    assert response.status_code == 422
    assert "This appeal does not take EUR. It takes USD, ILS." in response.data.decode()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Donation)) == 0


def test_the_service_itself_refuses_a_currency_it_cannot_count(db):
    """The view checks first; the service checks again (a rate removed in
    between, or a caller other than the form) and stores nothing."""
    from fundraiser.staff.offline_services import record_offline_gift

    appeal = create_appeal(db.session)
    appeals.set_currencies(db.session, appeal, [("ILS", [Money.from_major(180, "ILS")])])
    db.session.commit()
    for currency, why in (("ILS", donations.NO_RATE), ("EUR", donations.NOT_ACCEPTED)):
        with pytest.raises(donations.CurrencyRefused, match=why):
            record_offline_gift(db.session, appeal=appeal, amount=Money(10_000, currency),
                                name="Ruth Cohen", email="ruth@example.org", method="cash",
                                received_on=date(2026, 12, 5), actor=None)
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Donation)) == 0
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
