"""Gifts paid in another currency than their appeal's, as staff see them
(issue 19): the donations list shows both figures, the appeal dashboard
breaks the money down by the currency it was paid in, and an offline gift
may be recorded in any currency the appeal takes, converted as a card
gift is."""

import re
from pathlib import Path

import pytest

from fundraiser.appeals import services as appeals
from fundraiser.donations import services as donations
from fundraiser.money import Money
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.rates import services as rates
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

