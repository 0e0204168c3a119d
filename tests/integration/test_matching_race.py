"""Real concurrency: 64 gifts succeed at once, each thread with its own app
context and session, through the real success path (transition_to), against
a pool (or a friend's pledge) that covers only half of them."""

import threading
import time

from sqlalchemy import func, select

from fundraiser.matching import ledger as match_ledger
from fundraiser.matching import services as matching
from fundraiser.matching.models import MatchEntry, MatchPledge, MatchPool
from fundraiser.payments import services as payments
from fundraiser.payments import states
from tests.factories import create_appeal, create_donation
from tests.support import in_threads

GIFTS = 64
GIFT = 1_000


def race(app, db, payment_ids):
    """Succeed every payment from its own thread; returns (errors, seconds)."""
    started = time.perf_counter()
    errors = in_threads(app, db, lambda payment_id: payments.transition_to(
        db.session, payment_id, states.SUCCEEDED), payment_ids, timeout=120)
    return errors, time.perf_counter() - started


def test_64_parallel_gifts_exhaust_a_pool_exactly(app, db, backend):
    appeal = create_appeal(db.session)
    cap = GIFTS * GIFT // 2
    pool_id = matching.create_pool(db.session, appeal_id=appeal.id, currency="USD",
                                   cap_minor=cap, sponsor_name="Sponsor").id
    ids = [create_donation(db.session, appeal, amount_minor=GIFT,
                           email=f"d{i}@example.org").payment_id for i in range(GIFTS)]
    errors, seconds = race(app, db, ids)
    print(f"\nRACE pool {backend}: gifts={GIFTS} cap={cap} seconds={seconds:.2f}")
    assert errors == []
    total = db.session.scalar(select(func.sum(MatchEntry.amount_minor))
                              .where(MatchEntry.pool_id == pool_id))
    pool = db.session.get(MatchPool, pool_id)
    print(f"RACE pool {backend}: sum_matched={total} remaining={pool.remaining_minor}")
    assert total == cap and pool.remaining_minor == 0
    succeeded = [p for p in ids if db.session.execute(select(func.count()).select_from(
        MatchEntry).where(MatchEntry.payment_id == p)).scalar()]
    assert len(succeeded) == GIFTS // 2          # each matched gift fully, the rest not
    assert all(match_ledger.net_for_payment(db.session, p) in (0, GIFT) for p in ids)


def test_64_parallel_friend_gifts_exhaust_a_pledge_exactly(app, db, backend):
    appeal = create_appeal(db.session)
    amount = GIFTS * GIFT // 2
    funding = create_donation(db.session, appeal, amount_minor=amount, email="dana@example.org")
    pledge = matching.create_pledge(
        db.session, appeal_id=appeal.id, currency="USD", amount_minor=amount,
        pledger_name="Dana", pledger_email="dana@example.org", origin_payment_id=None,
        funding_payment_id=funding.payment_id)
    payments.transition_to(db.session, funding.payment_id, states.SUCCEEDED)
    db.session.commit()
    pledge_id, code = pledge.id, pledge.code
    assert db.session.get(MatchPledge, pledge_id).status == "active"
    ids = [create_donation(db.session, appeal, amount_minor=GIFT, email=f"f{i}@example.org",
                           source=code).payment_id for i in range(GIFTS)]
    errors, seconds = race(app, db, ids)
    print(f"\nRACE pledge {backend}: gifts={GIFTS} cap={amount} seconds={seconds:.2f}")
    assert errors == []
    total = db.session.scalar(select(func.sum(MatchEntry.amount_minor))
                              .where(MatchEntry.pledge_id == pledge_id))
    print(f"RACE pledge {backend}: sum_matched={total}")
    assert total == amount
    assert db.session.get(MatchPledge, pledge_id).remaining_minor == 0


def test_gifts_and_refunds_racing_keep_the_ledger_and_the_pool_in_step(app, db, backend):
    """32 new gifts succeed while 16 matched gifts are refunded (half in full,
    half in part) and 8 are disputed, all at once: no error, no deadlock, and
    the pool's counter equals its ledger."""
    appeal = create_appeal(db.session)
    pool_id = matching.create_pool(db.session, appeal_id=appeal.id, currency="USD",
                                   cap_minor=30_000, sponsor_name="Sponsor").id
    old = [create_donation(db.session, appeal, amount_minor=GIFT,
                           email=f"o{i}@example.org").payment_id for i in range(24)]
    for pid in old:
        payments.transition_to(db.session, pid, states.SUCCEEDED)
    new = [create_donation(db.session, appeal, amount_minor=GIFT,
                           email=f"n{i}@example.org").payment_id for i in range(32)]
    db.session.commit()
    db.session.remove()
    jobs = ([("succeed", p) for p in new] + [("refund", p) for p in old[:16]]
            + [("dispute", p) for p in old[16:]])
    barrier = threading.Barrier(len(jobs))
    errors = []

    def work(kind, pid, index):
        with app.app_context():
            try:
                barrier.wait()
                if kind == "succeed":
                    payments.transition_to(db.session, pid, states.SUCCEEDED)
                elif kind == "refund":
                    payments.apply_refund_total(db.session, pid, GIFT if index % 2 else 333)
                else:
                    payments.transition_to(db.session, pid, states.DISPUTED)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(k, p, i)) for i, (k, p) in enumerate(jobs)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    print(f"\nRACE mixed {backend}: jobs={len(jobs)} seconds={time.perf_counter() - started:.2f}")
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    total = db.session.scalar(select(func.coalesce(func.sum(MatchEntry.amount_minor), 0))
                              .where(MatchEntry.pool_id == pool_id))
    pool = db.session.get(MatchPool, pool_id)
    assert total == pool.cap_minor - pool.remaining_minor
    assert 0 <= pool.remaining_minor <= pool.cap_minor
    for pid in old[16:]:
        assert match_ledger.net_for_payment(db.session, pid) == 0
    for i, pid in enumerate(old[:16]):
        assert match_ledger.net_for_payment(db.session, pid) == (0 if i % 2 else 667)
