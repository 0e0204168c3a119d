"""Hypothesis stateful test of the match ledger against the real services
and a real database (SQLite, and PostgreSQL when DATABASE_URL is set):
random gifts (some through a friend's pledge link), partial and full
refunds (some reported twice), disputes won and lost, cap edits, pool
windows closing and pool terms (ratio, limits, first-time rule) changed
between gifts. After every step the ledger and the counters must agree."""

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from fundraiser.matching import figures as match_figures
from fundraiser.matching import ledger as match_ledger
from fundraiser.matching import rules
from fundraiser.matching import services as matching
from fundraiser.matching.models import MatchEntry, MatchPledge, MatchPool
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.models import Payment, utcnow
from tests.factories import create_appeal, create_donation

RATIOS = [(1, 1), (2, 1), (1, 2), (3, 2)]
_slugs = itertools.count()


def test_match_ledger_state_machine(db, backend):
    session = db.session

    class Ledger(RuleBasedStateMachine):
        gifts = Bundle("gifts")
        pools = Bundle("pools")

        @initialize()
        def setup(self):
            self.appeal = create_appeal(session, slug=f"sm-{next(_slugs)}")
            self.appeal_id = self.appeal.id
            funding = create_donation(session, self.appeal, amount_minor=7_000,
                                      email="pledger@example.org")
            self.pledge = matching.create_pledge(
                session, appeal_id=self.appeal_id, currency="USD", amount_minor=7_000,
                pledger_name="P", pledger_email="pledger@example.org", origin_payment_id=None,
                funding_payment_id=funding.payment_id)
            self.ratios_held = {}  # pool id -> every ratio it has had
            payments.transition_to(session, funding.payment_id, states.SUCCEEDED)
            session.commit()
            self.code = self.pledge.code
            self.funding_id = funding.payment_id
            self.payment_ids = []

        @rule(target=pools, cap=st.integers(1, 20_000), ratio=st.sampled_from(RATIOS),
              limit=st.one_of(st.none(), st.integers(1, 5_000)),
              minimum=st.sampled_from([0, 0, 500]), first_time=st.booleans())
        def add_pool(self, cap, ratio, limit, minimum, first_time):
            pool = matching.create_pool(
                session, appeal_id=self.appeal_id, currency="USD", cap_minor=cap, ratio=ratio,
                sponsor_name="S", per_gift_limit_minor=limit, min_gift_minor=minimum,
                first_time_only=first_time)
            session.commit()
            self.ratios_held[pool.id] = {ratio}
            return pool.id

        @rule(target=gifts, amount=st.integers(1, 9_000), donor=st.integers(0, 4),
              via_pledge=st.booleans())
        def give(self, amount, donor, via_pledge):
            d = create_donation(session, self.appeal, amount_minor=amount,
                                email=f"d{donor}@example.org",
                                source=self.code if via_pledge else "")
            payments.transition_to(session, d.payment_id, states.SUCCEEDED)
            session.commit()
            self.payment_ids.append(d.payment_id)
            return d.payment_id

        @rule(payment_id=gifts, share=st.integers(1, 100), twice=st.booleans())
        def refund(self, payment_id, share, twice):
            p = session.get(Payment, payment_id, populate_existing=True)
            if p.status not in (states.SUCCEEDED, states.PARTIALLY_REFUNDED):
                return
            total = min(p.amount_minor, p.refunded_minor + max(1, p.amount_minor * share // 100))
            payments.apply_refund_total(session, payment_id, total)
            if twice:
                assert payments.apply_refund_total(session, payment_id, total) == 0
            session.commit()

        @rule(payment_id=gifts)
        def dispute(self, payment_id):
            status = session.get(Payment, payment_id, populate_existing=True).status
            if status in (states.SUCCEEDED, states.PARTIALLY_REFUNDED):
                payments.transition_to(session, payment_id, states.DISPUTED)
                session.commit()

        @rule(payment_id=gifts, won=st.booleans())
        def close_dispute(self, payment_id, won):
            if session.get(Payment, payment_id, populate_existing=True).status == \
                    states.DISPUTED:
                payments.transition_to(session, payment_id,
                                       states.SUCCEEDED if won else states.DISPUTE_LOST)
                session.commit()

        @rule(share=st.integers(1, 100))
        def refund_the_pledge(self, share):
            """The pledger gets money back: the pledge is withdrawn, its unlocks reversed."""
            p = session.get(Payment, self.funding_id, populate_existing=True)
            if p.status in (states.SUCCEEDED, states.PARTIALLY_REFUNDED):
                payments.apply_refund_total(session, p.id, min(
                    p.amount_minor, p.refunded_minor + p.amount_minor * share // 100 or 1))
                session.commit()
                assert session.get(MatchPledge, self.pledge.id).status == "withdrawn"
                assert match_ledger.net_for_payment(session, self.funding_id) == 0

        @rule(pool_id=pools, cap=st.integers(1, 25_000))
        def edit_cap(self, pool_id, cap):
            try:
                matching.change_pool(session, pool_id, cap_minor=cap)
                session.commit()
            except matching.MatchingError:
                session.rollback()
                pool = session.get(MatchPool, pool_id, populate_existing=True)
                assert cap < pool.allocated_minor  # refused only when below what is matched

        @rule(pool_id=pools, ratio=st.sampled_from(RATIOS),
              limit=st.one_of(st.none(), st.integers(1, 5_000)),
              minimum=st.sampled_from([0, 500]), first_time=st.booleans())
        def change_terms(self, pool_id, ratio, limit, minimum, first_time):
            """New terms for gifts from now on; what is matched stays matched."""
            matching.change_pool(session, pool_id, ratio_match=ratio[0], ratio_gift=ratio[1],
                                 per_gift_limit_minor=limit, min_gift_minor=minimum,
                                 first_time_only=first_time)
            session.commit()
            self.ratios_held[pool_id].add(ratio)

        @rule(pool_id=pools)
        def end_window(self, pool_id):
            matching.change_pool(session, pool_id, starts_at=None, ends_at=utcnow())
            session.commit()

        @invariant()
        def ledger_and_counters_agree(self):
            if not hasattr(self, "appeal_id"):
                return
            session.expire_all()
            sums = dict(session.execute(
                select(MatchEntry.pool_id, func.sum(MatchEntry.amount_minor))
                .where(MatchEntry.appeal_id == self.appeal_id, MatchEntry.pool_id.is_not(None))
                .group_by(MatchEntry.pool_id)).all())
            pools = session.scalars(select(MatchPool).where(
                MatchPool.appeal_id == self.appeal_id)).all()
            for pool in pools:
                assert 0 <= pool.remaining_minor <= pool.cap_minor
                assert int(sums.get(pool.id, 0)) == pool.cap_minor - pool.remaining_minor
            pledge = session.get(MatchPledge, self.pledge.id)
            pledged = session.scalar(select(func.coalesce(func.sum(MatchEntry.amount_minor), 0))
                                     .where(MatchEntry.pledge_id == pledge.id))
            assert 0 <= pledge.remaining_minor <= pledge.amount_minor
            assert int(pledged) == pledge.amount_minor - pledge.remaining_minor
            if pledge.status == "withdrawn":
                assert int(pledged) == 0
            assert match_figures.matched_minor(session, self.appeal) == sum(
                int(v) for v in sums.values())

        @invariant()
        def no_gift_is_matched_beyond_its_ratio(self):
            if not hasattr(self, "appeal_id"):
                return
            # a gift was matched at the ratio its pool had then: bound it by
            # the best ratio each pool has ever had
            ratios = self.ratios_held
            for payment_id in self.payment_ids:
                payment = session.get(Payment, payment_id)
                net_gift = payment.amount_minor - payment.refunded_minor
                per_source = match_ledger.matches_for_payment(session, payment_id)
                if payment.status in (states.DISPUTED, states.DISPUTE_LOST, states.REFUNDED):
                    assert per_source == []
                for kind, source_id, amount in per_source:
                    assert amount > 0
                    held = ratios[source_id] if kind == "pool" else {(1, 1)}
                    assert amount <= max(rules.match_for(net_gift, m, g) for m, g in held)
                # each unit of a gift is matched once: at most the best ratio overall
                best = max([1] + [m / g for held in ratios.values() for m, g in held])
                assert sum(a for _k, _s, a in per_source) <= net_gift * best
            # no reversal ever exceeds its allocation
            original = aliased(MatchEntry)
            over = session.execute(
                select(MatchEntry.reverses_id)
                .join(original, original.id == MatchEntry.reverses_id)
                .where(MatchEntry.kind == "reversal", MatchEntry.appeal_id == self.appeal_id)
                .group_by(MatchEntry.reverses_id, original.amount_minor)
                .having(-func.sum(MatchEntry.amount_minor) > original.amount_minor)).all()
            assert over == []

    run_state_machine_as_test(Ledger, settings=settings(
        max_examples=20, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
