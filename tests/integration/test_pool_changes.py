"""A staff change to a match pool and a gift being matched from it take the
same row lock, so they serialise: the gift is matched wholly at the old terms
or wholly at the new ones, and the counters stay equal to the ledger."""

import threading

import pytest
from sqlalchemy import func, select

from fundraiser.matching import ledger as match_ledger
from fundraiser.matching import services as matching
from fundraiser.matching.models import MatchEntry, MatchPool
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.staff import pool_services
from tests.factories import create_appeal, create_donation

WAIT = 20  # seconds any thread waits for another before the test fails


def _in_thread(app, db, errors, steps):
    def run():
        with app.app_context():
            try:
                steps()
            except Exception as exc:  # noqa: BLE001 - every failure is reported
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize("first", ["gift", "change"])
def test_a_pool_change_and_a_gift_being_matched_wait_for_each_other(app, db, backend, first):
    appeal = create_appeal(db.session)
    pool_id = matching.create_pool(db.session, appeal_id=appeal.id, currency="USD",
                                   cap_minor=100_000, sponsor_name="Sponsor").id
    payment_id = create_donation(db.session, appeal, amount_minor=1_000).payment_id
    db.session.commit()
    db.session.remove()  # hold no transaction (SQLite: no lock) while threads run
    holding = {"gift": threading.Event(), "change": threading.Event()}
    done = {"gift": threading.Event(), "change": threading.Event()}
    release = threading.Event()
    errors = []

    def gift():
        if first == "change":
            assert holding["change"].wait(WAIT)
        payments.transition_to(db.session, payment_id, states.SUCCEEDED)  # matches it
        holding["gift"].set()
        if first == "gift":
            assert release.wait(WAIT)
        db.session.commit()
        done["gift"].set()

    def change():
        if first == "gift":
            assert holding["gift"].wait(WAIT)
        pool_services.change_match_pool(db.session, pool_id, actor=None, ratio=(2, 1),
                                        sponsor_name="New sponsor")
        holding["change"].set()
        if first == "change":
            assert release.wait(WAIT)
        db.session.commit()
        done["change"].set()

    threads = [_in_thread(app, db, errors, gift), _in_thread(app, db, errors, change)]
    second = "change" if first == "gift" else "gift"
    assert holding[first].wait(WAIT), errors
    # the second waits on the first's row lock until the first commits
    assert not holding[second].wait(1.0), f"the {second} did not wait for the {first}"
    release.set()
    for thread in threads:
        thread.join(WAIT * 2)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    assert errors == []
    assert done["gift"].is_set() and done["change"].is_set()

    # a gift matched before the change keeps 1:1; after it, 2:1
    assert match_ledger.net_for_payment(db.session, payment_id) == \
        (1_000 if first == "gift" else 2_000)
    pool = db.session.get(MatchPool, pool_id)
    assert (pool.ratio, pool.sponsor_name) == ("2:1", "New sponsor")
    ledger = db.session.scalar(select(func.sum(MatchEntry.amount_minor))
                               .where(MatchEntry.pool_id == pool_id))
    assert ledger == pool.cap_minor - pool.remaining_minor


def test_cap_changes_racing_gifts_never_cut_below_what_is_matched(app, db, backend):
    """16 gifts and 8 cap changes (down towards what is matched, and up) at
    once: each cap change is made or refused whole, no error otherwise, and
    the pool's counters equal its ledger."""
    appeal = create_appeal(db.session)
    pool_id = matching.create_pool(db.session, appeal_id=appeal.id, currency="USD",
                                   cap_minor=10_000, sponsor_name="Sponsor").id
    ids = [create_donation(db.session, appeal, amount_minor=1_000,
                           email=f"d{i}@example.org").payment_id for i in range(16)]
    db.session.commit()
    db.session.remove()
    barrier = threading.Barrier(len(ids) + 8)
    errors, refused = [], []

    def succeed(pid):
        def steps():
            barrier.wait()
            payments.transition_to(db.session, pid, states.SUCCEEDED)
            db.session.commit()
        return steps

    def set_cap(cap, ratio):
        def steps():
            barrier.wait()
            try:
                pool_services.change_match_pool(db.session, pool_id, actor=None, cap_minor=cap,
                                                ratio=ratio)
                db.session.commit()
            except pool_services.PoolError as exc:
                db.session.rollback()
                refused.append(str(exc))
        return steps

    threads = [_in_thread(app, db, errors, succeed(pid)) for pid in ids]
    threads += [_in_thread(app, db, errors, set_cap(cap, ratio)) for cap, ratio in
                [(3_000, (1, 1)), (12_000, (2, 1)), (5_000, (1, 2)), (20_000, (1, 1)),
                 (4_000, (3, 1)), (9_000, (1, 1)), (6_000, (2, 1)), (15_000, (1, 1))]]
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    assert errors == []
    assert set(refused) <= {"cap below matched"}
    pool = db.session.get(MatchPool, pool_id)
    ledger = db.session.scalar(select(func.coalesce(func.sum(MatchEntry.amount_minor), 0))
                               .where(MatchEntry.pool_id == pool_id))
    assert 0 <= pool.remaining_minor <= pool.cap_minor
    assert ledger == pool.cap_minor - pool.remaining_minor
    # every gift was matched whole at one of the ratios the pool had, or cut
    # short only by what was left
    for pid in ids:
        assert match_ledger.net_for_payment(db.session, pid) <= 3_000


def test_a_refund_after_a_ratio_change_reverses_what_was_matched_not_the_new_ratio(db):
    appeal = create_appeal(db.session)
    pool_id = matching.create_pool(db.session, appeal_id=appeal.id, currency="USD",
                                   cap_minor=50_000, sponsor_name="Sponsor").id
    old = create_donation(db.session, appeal, amount_minor=2_001, email="old@example.org")
    payments.transition_to(db.session, old.payment_id, states.SUCCEEDED)      # 1:1 → 2001
    db.session.commit()
    changed = pool_services.change_match_pool(db.session, pool_id, actor=None, ratio=(2, 1))
    db.session.commit()
    assert changed == {"ratio": ["1:1", "2:1"]}
    new = create_donation(db.session, appeal, amount_minor=1_000, email="new@example.org")
    payments.transition_to(db.session, new.payment_id, states.SUCCEEDED)      # 2:1 → 2000
    db.session.commit()
    # a third of the old gift back: it keeps floor(2001 × 1334 / 2001) at the old ratio
    payments.apply_refund_total(db.session, old.payment_id, 667)
    db.session.commit()
    assert match_ledger.net_for_payment(db.session, old.payment_id) == 1_334
    payments.apply_refund_total(db.session, old.payment_id, 2_001)
    db.session.commit()
    reversed_ = db.session.scalar(select(func.sum(MatchEntry.amount_minor)).where(
        MatchEntry.payment_id == old.payment_id, MatchEntry.kind == "reversal"))
    assert reversed_ == -2_001                       # exactly its match, not 2 × 2001
    assert match_ledger.net_for_payment(db.session, old.payment_id) == 0
    assert match_ledger.net_for_payment(db.session, new.payment_id) == 2_000
    db.session.expire_all()
    pool = db.session.get(MatchPool, pool_id)
    ledger = db.session.scalar(select(func.sum(MatchEntry.amount_minor))
                               .where(MatchEntry.pool_id == pool_id))
    assert ledger == pool.cap_minor - pool.remaining_minor == 2_000
