"""Gifts in the donor's currency (issue 19) against a real database: the
rate stored with each gift, counting, refunds, matching and JPY."""

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fundraiser.appeals import services as appeals
from fundraiser.donations import services as donations
from fundraiser.matching import ledger as match_ledger
from fundraiser.matching import services as matching
from fundraiser.matching.models import MatchEntry, MatchPool
from fundraiser.money import Money
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.models import Payment
from fundraiser.rates import services as rates
from fundraiser.rates.models import ExchangeRate
from tests.factories import create_appeal

ECB_CSV = (Path(__file__).parent.parent / "fixtures" / "eurofxref.csv").read_bytes()
# From the fixture: 1 EUR = 1.1642 USD = 3.7865 ILS = 180.93 JPY.
ILS_TO_USD = "0.307460715701"     # 1.1642 / 3.7865, twelve significant digits


def setup_rates(db):
    rates.import_ecb(db.session, ECB_CSV, by="finance@example.org")
    db.session.commit()


def usd_appeal_taking_shekels(db, slug="test-appeal"):
    appeal = create_appeal(db.session, slug=slug, suggested=[18, 36, 100])
    appeals.set_currencies(db.session, appeal, [
        ("ILS", [Money.from_major(x, "ILS") for x in (50, 100, 180)])], second_currency="ILS")
    db.session.commit()
    return appeal


def give(db, appeal, minor, currency, email="dana@example.org"):
    d = donations.start_donation(db.session, appeal, amount=Money(minor, currency),
                                 name="Dana Donor", email=email)
    payments.transition_to(db.session, d.payment_id, states.SUCCEEDED)
    db.session.commit()
    db.session.expire_all()
    return db.session.get(type(d), d.id)


def raised(db, appeal):
    return donations.progress_for(db.session, appeal).raised_minor


def test_a_shekel_gift_to_a_dollar_appeal_counts_at_its_stored_rate_for_good(db, client):
    setup_rates(db)
    appeal = usd_appeal_taking_shekels(db)
    d = give(db, appeal, 10_000, "ILS")                      # ₪100.00
    assert (d.amount_minor, d.currency) == (10_000, "ILS")
    assert d.rate == ILS_TO_USD and d.rate_date == date(2026, 12, 4)
    assert d.converted_minor == 3_074                       # $30.746… rounded down
    assert d.rate_fixed_at is not None
    assert raised(db, appeal) == 3_074
    body = client.get("/api/v1/appeals/test-appeal").get_json()
    assert body["currency"] == "USD" and body["raised_minor"] == 3_074
    assert body["total_minor"] == 3_074 and body["donation_count"] == 1

    # The shekel falls: a new rate for ILS, newer than the ECB's.
    rates.set_rate(db.session, "ILS", "4", date(2026, 12, 5), by="finance@example.org")
    db.session.commit()
    assert raised(db, appeal) == 3_074                      # the first gift does not move
    d2 = give(db, appeal, 10_000, "ILS", email="eli@example.org")
    assert d2.rate == "0.29105" and d2.converted_minor == 2_910
    assert raised(db, appeal) == 3_074 + 2_910
    db.session.expire_all()
    assert db.session.get(type(d), d.id).converted_minor == 3_074


def test_the_rate_is_fixed_when_the_gift_succeeds_not_when_it_starts(db):
    setup_rates(db)
    appeal = usd_appeal_taking_shekels(db)
    d = donations.start_donation(db.session, appeal, amount=Money(10_000, "ILS"),
                                 name="Dana", email="dana@example.org")
    db.session.commit()
    assert d.converted_minor == 3_074 and d.rate_fixed_at is None   # a quote
    rates.set_rate(db.session, "ILS", "4", date(2026, 12, 5))
    db.session.commit()
    payments.transition_to(db.session, d.payment_id, states.SUCCEEDED)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(type(d), d.id).converted_minor == 2_910
    assert raised(db, appeal) == 2_910


def test_a_partly_refunded_foreign_gift_counts_its_share_rounded_down(db):
    setup_rates(db)
    appeal = usd_appeal_taking_shekels(db)
    d = give(db, appeal, 10_000, "ILS")
    give(db, appeal, 2_500, "USD", email="usd@example.org")
    payments.apply_refund_total(db.session, d.payment_id, 3_333)   # ₪33.33 back
    db.session.commit()
    # 3074 × 6667 / 10000 = 2049.4… → 2049, beside the $25.00 gift
    assert raised(db, appeal) == 2_049 + 2_500
    payments.apply_refund_total(db.session, d.payment_id, 10_000)
    db.session.commit()
    assert raised(db, appeal) == 2_500


def test_a_currency_the_appeal_does_not_take_is_refused_and_nothing_is_stored(db):
    setup_rates(db)
    appeal = usd_appeal_taking_shekels(db)
    with pytest.raises(donations.CurrencyRefused, match="not accepted"):
        donations.start_donation(db.session, appeal, amount=Money(5_000, "EUR"),
                                 name="Dana", email="dana@example.org")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0


def test_an_accepted_currency_without_a_rate_is_refused_never_guessed(db):
    appeal = usd_appeal_taking_shekels(db)         # no rates imported at all
    with pytest.raises(donations.CurrencyRefused, match="no rate"):
        donations.start_donation(db.session, appeal, amount=Money(10_000, "ILS"),
                                 name="Dana", email="dana@example.org")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    # the appeal's own currency needs no rate
    d = give(db, appeal, 2_500, "USD")
    assert d.rate is None and d.converted_minor is None and raised(db, appeal) == 2_500


def test_a_foreign_gift_is_matched_on_its_converted_amount_rounded_down(db):
    setup_rates(db)
    appeal = usd_appeal_taking_shekels(db)
    pool = matching.create_pool(db.session, appeal_id=appeal.id, currency="USD",
                                cap_minor=100_000, ratio=(1, 2), sponsor_name="Ruth's Bakery")
    db.session.commit()
    d = give(db, appeal, 18_000, "ILS")                      # ₪180 → $55.34 (5534.8…)
    assert d.converted_minor == 5_534
    # 1:2 on $55.34 → $27.67, in the pool's currency
    assert match_ledger.matches_for_payment(db.session, d.payment_id) == \
        [("pool", pool.id, 2_767)]
    row = db.session.scalar(select(MatchEntry).where(MatchEntry.payment_id == d.payment_id))
    assert (row.currency, row.amount_minor, row.basis_minor) == ("USD", 2_767, 5_534)
    assert (row.paid_currency, row.paid_minor) == ("ILS", 18_000)
    assert db.session.get(MatchPool, pool.id).remaining_minor == 100_000 - 2_767
    progress = donations.progress_for(db.session, appeal, matched_minor=2_767)
    assert progress.total_minor == 5_534 + 2_767

    # A partial refund reverses in proportion to the converted figure.
    payments.apply_refund_total(db.session, d.payment_id, 9_000)   # half back
    db.session.commit()
    # net now 5534 × 9000 / 18000 = 2767; kept floor(2767 × 2767 / 5534) = 1383
    assert match_ledger.net_for_payment(db.session, d.payment_id) == 1_383
    payments.apply_refund_total(db.session, d.payment_id, 18_000)
    db.session.commit()
    assert match_ledger.net_for_payment(db.session, d.payment_id) == 0
    db.session.expire_all()
    assert db.session.get(MatchPool, pool.id).remaining_minor == 100_000


def test_yen_has_no_decimals_either_way(db):
    setup_rates(db)
    yen = create_appeal(db.session, slug="yen", currency="JPY", goal_major=1_000_000,
                        suggested=[1_000, 3_000])
    appeals.set_currencies(db.session, yen, [("USD", [Money.from_major(10, "USD")])])
    dollars = create_appeal(db.session, slug="dollars", currency="USD")
    appeals.set_currencies(db.session, dollars, [("JPY", [Money.from_major(1_000, "JPY")])])
    db.session.commit()
    d = give(db, yen, 1_000, "USD")          # $10.00 → ¥1,554.11… → ¥1,554
    assert d.converted_minor == 1_554 and raised(db, yen) == 1_554
    assert d.converted.format("en") == "¥1,554"
    d2 = give(db, dollars, 1_000, "JPY", email="k@example.org")   # ¥1,000 → $6.43
    assert d2.converted_minor == 643 and raised(db, dollars) == 643


def test_a_monthly_gift_in_another_currency_is_refused(db):
    from fundraiser.donations import subscriptions

    setup_rates(db)
    appeal = usd_appeal_taking_shekels(db)
    d = donations.start_donation(db.session, appeal, amount=Money(10_000, "ILS"),
                                 name="Dana", email="dana@example.org")
    with pytest.raises(ValueError, match="appeal's currency"):
        subscriptions.start(db.session, d)


def test_the_rate_table_keeps_each_day_and_the_latest_is_current(db):
    setup_rates(db)
    assert db.session.scalar(select(func.count()).select_from(ExchangeRate)) == 30
    rates.set_rate(db.session, "ILS", "3.9", date(2026, 12, 5))
    rates.import_ecb(db.session, ECB_CSV)       # the same day again: nothing doubles
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ExchangeRate)) == 31
    current = rates.current_rates(db.session, ["ILS", "USD"])
    assert current["ILS"].rate == "3.9" and current["USD"].rate == "1.1642"
