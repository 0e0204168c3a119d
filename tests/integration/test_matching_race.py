"""Real concurrency: 64 gifts succeed at once, each thread with its own app
context and session, through the real success path (transition_to), against
a pool (or a friend's pledge) that covers only half of them."""

import threading
import time

from sqlalchemy import func, select

from fundraiser.matching import services as matching
from fundraiser.matching.models import MatchEntry, MatchPledge, MatchPool
from fundraiser.payments import services as payments
from fundraiser.payments import states
from tests.factories import create_appeal, create_donation

GIFTS = 64
GIFT = 1_000


def race(app, db, payment_ids):
    """Succeed every payment from its own thread; returns (errors, seconds)."""
    db.session.commit()
    db.session.remove()  # hold no transaction (SQLite: no lock) while threads run
    barrier = threading.Barrier(len(payment_ids))
    errors = []

    def succeed(payment_id):
        with app.app_context():
            try:
                barrier.wait()
                payments.transition_to(db.session, payment_id, states.SUCCEEDED)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - every failure is reported
                db.session.rollback()
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=succeed, args=(pid,)) for pid in payment_ids]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    seconds = time.perf_counter() - started
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return errors, seconds


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
    assert all(matching.net_for_payment(db.session, p) in (0, GIFT) for p in ids)


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
