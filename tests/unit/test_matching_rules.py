"""Matching rules: pure functions, no database."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fundraiser.matching import rules
from fundraiser.money import Money, decimals

NOW = datetime(2026, 11, 26, 12, 0)


def gift(amount, currency="USD", **kw):
    return rules.Gift(amount_minor=amount, currency=currency, at=kw.pop("at", NOW), **kw)


def pool(id=1, remaining=100_000, currency="USD", **kw):
    return rules.Source(kind="pool", id=id, currency=currency, remaining_minor=remaining, **kw)


@pytest.mark.parametrize("ratio, base, match", [
    ((1, 1), 2_500, 2_500), ((2, 1), 2_500, 5_000), ((1, 2), 2_500, 1_250),
    ((1, 2), 2_501, 1_250),   # half a cent is not invented
    ((3, 2), 1, 1), ((1, 3), 2, 0), ((1, 1), 0, 0), ((1, 1), -5, 0),
])
def test_match_is_the_ratio_rounded_down(ratio, base, match):
    assert rules.match_for(base, *ratio) == match


@pytest.mark.parametrize("text, ratio", [("1:1", (1, 1)), ("2:1", (2, 1)), (" 1:2 ", (1, 2))])
def test_ratio_text_round_trips(text, ratio):
    assert rules.parse_ratio(text) == ratio
    assert rules.ratio_text(*ratio) == text.strip()


@pytest.mark.parametrize("bad", ["", "1", "1:0", "0:1", "a:b", "1:-1", "1.5:1", "2000:1"])
def test_bad_ratios_are_refused(bad):
    with pytest.raises(ValueError):
        rules.parse_ratio(bad)


@pytest.mark.parametrize("currency, typed, ratio, expected", [
    ("USD", "10.01", (1, 2), "5.00"),      # 500.5 cents → 500
    ("USD", "10.01", (2, 1), "20.02"),
    ("ILS", "36", (1, 1), "36.00"),
    ("ILS", "18.05", (1, 2), "9.02"),      # 902.5 agorot → 902
    ("JPY", "1001", (1, 2), "500"),        # ¥500.5 → ¥500: yen have no fraction
    ("JPY", "999", (2, 1), "1998"),
])
def test_rounding_in_each_currency(currency, typed, ratio, expected):
    base = Money.parse(typed, currency)
    assert decimals(currency) == (0 if currency == "JPY" else 2)
    assert rules.match_for(base.minor, *ratio) == Money.parse(expected, currency).minor


@pytest.mark.parametrize("currency", ["USD", "ILS", "JPY"])
@given(amount=st.integers(1, 10**9), ratio_m=st.integers(1, 5), ratio_g=st.integers(1, 5),
       cuts=st.lists(st.integers(0, 10**9), max_size=6))
def test_refunds_split_any_way_reverse_exactly_the_match(currency, amount, ratio_m, ratio_g,
                                                         cuts):
    """Cumulative refunds in any steps: the kept match only shrinks, never
    below zero, and a full refund returns exactly what was allocated."""
    allocated = rules.match_for(amount, ratio_m, ratio_g)
    totals = sorted({min(c, amount) for c in cuts}) + [amount]
    kept_before, reversed_sum = allocated, 0
    for refunded in totals:
        kept = rules.kept_after_refund(allocated, amount, amount - refunded)
        assert 0 <= kept <= kept_before
        reversed_sum += kept_before - kept
        kept_before = kept
    assert kept_before == 0 and reversed_sum == allocated


@given(amount=st.integers(1, 10**8), ratio_m=st.integers(1, 5), ratio_g=st.integers(1, 5),
       refunded=st.integers(0, 10**8))
def test_what_is_kept_never_exceeds_what_the_net_gift_earns(amount, ratio_m, ratio_g,
                                                            refunded):
    refunded = min(refunded, amount)
    allocated = rules.match_for(amount, ratio_m, ratio_g)
    kept = rules.kept_after_refund(allocated, amount, amount - refunded)
    # floor(floor(a·m/g)·n/a) ≤ floor(n·m/g)
    assert kept <= rules.match_for(amount - refunded, ratio_m, ratio_g)


def test_window_is_inclusive_at_start_exclusive_at_end():
    start, end = NOW, NOW + timedelta(days=1)
    assert rules.window_open(start, end, start)
    assert not rules.window_open(start, end, end)
    assert not rules.window_open(start, end, start - timedelta(seconds=1))
    assert rules.window_open(None, None, NOW)


def test_first_time_and_minimum_rules():
    assert rules.first_time_ok(True, True) and not rules.first_time_ok(True, False)
    assert rules.first_time_ok(False, False)
    assert rules.minimum_ok(1_000, 1_000) and not rules.minimum_ok(999, 1_000)


def test_monthly_gifts_count_once_or_twelve_times():
    assert rules.matchable_base(1_000, False, "x12") == 1_000
    assert rules.matchable_base(1_000, True, "once") == 1_000
    assert rules.matchable_base(1_000, True, "x12") == 12_000
    steps = rules.plan(gift(1_000, is_monthly=True), [pool(monthly_rule="x12")])
    assert [s.take_minor for s in steps] == [12_000]
    short = rules.plan(gift(1_000, is_monthly=True), [pool(remaining=6_000, monthly_rule="x12"),
                                                      pool(id=2, remaining=100_000)])
    # half a year's worth from the first pool covers half the monthly gift
    assert [(s.source.id, s.take_minor, s.covered_minor) for s in short] == \
        [(1, 6_000, 500), (2, 500, 500)]


def test_eligibility_checks_currency_window_first_time_minimum_and_own_pledge():
    assert rules.eligible(pool(), gift(100))
    assert not rules.eligible(pool(currency="ILS"), gift(100))
    assert not rules.eligible(pool(ends_at=NOW), gift(100))
    assert not rules.eligible(pool(first_time_only=True), gift(100, is_first_time=False))
    assert not rules.eligible(pool(min_gift_minor=500), gift(499))
    own = rules.Source(kind="pledge", id=1, currency="USD", remaining_minor=100,
                       owner_email="dana@example.org")
    assert not rules.eligible(own, gift(100, email="Dana@Example.org"))
    assert rules.eligible(own, gift(100, email="noa@example.org"))


def test_draw_order_is_pledge_then_ending_soonest_then_oldest():
    a = pool(id=1, ends_at=None)
    b = pool(id=2, ends_at=NOW + timedelta(days=2))
    c = pool(id=3, ends_at=NOW + timedelta(days=1))
    d = pool(id=4, ends_at=None)
    p = rules.Source(kind="pledge", id=9, currency="USD", remaining_minor=10)
    assert [s.id for s in sorted([a, b, c, d, p], key=rules.draw_order)] == [9, 3, 2, 1, 4]


def test_plan_spills_a_gift_over_pools_and_matches_each_unit_once():
    steps = rules.plan(gift(2_500), [pool(id=1, remaining=1_000), pool(id=2, ratio_match=2)])
    assert [(s.source.id, s.take_minor, s.covered_minor) for s in steps] == \
        [(1, 1_000, 1_000), (2, 3_000, 1_500)]


def test_per_gift_limit_leaves_the_rest_of_the_gift_to_the_next_pool():
    steps = rules.plan(gift(10_000), [pool(id=1, per_gift_limit_minor=2_000), pool(id=2)])
    assert [(s.source.id, s.take_minor) for s in steps] == [(1, 2_000), (2, 8_000)]


def test_an_exhausted_pool_matches_nothing_and_a_short_one_partly():
    assert rules.plan(gift(2_500), [pool(remaining=0)]) == []
    (step,) = rules.plan(gift(2_500), [pool(remaining=1_001, ratio_gift=2)])
    assert (step.take_minor, step.covered_minor) == (1_001, 2_002)


@given(amount=st.integers(1, 10**7),
       pools=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 3), st.integers(1, 3),
                                st.one_of(st.none(), st.integers(1, 10**5))),
                      min_size=1, max_size=4))
def test_plan_never_overdraws_and_never_matches_a_unit_twice(amount, pools):
    sources = [pool(id=i + 1, remaining=r, ratio_match=m, ratio_gift=g, per_gift_limit_minor=lim)
               for i, (r, m, g, lim) in enumerate(pools)]
    steps = rules.plan(gift(amount), sources)
    assert sum(s.covered_minor for s in steps) <= amount
    for s in steps:
        assert 0 < s.take_minor <= s.source.remaining_minor
        assert s.take_minor <= rules.match_for(s.covered_minor, s.source.ratio_match,
                                               s.source.ratio_gift)
        if s.source.per_gift_limit_minor is not None:
            assert s.take_minor <= s.source.per_gift_limit_minor


def test_a_lock_free_draw_checks_every_pool_rule_a_plan_reads():
    """A gift matched whole by one pool is drawn without a lock, on the
    condition that the pool's rules are still those it was planned by
    (ledger.POOL_RULES). A rule added to pools but not to that list would let
    a gift be matched by rules a sponsor had just changed."""
    from dataclasses import fields

    from fundraiser.matching import ledger

    not_rules = {"kind", "id", "currency", "remaining_minor", "owner_email"}
    assert {f.name for f in fields(rules.Source)} - not_rules == set(ledger.POOL_RULES)
