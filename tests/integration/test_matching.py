"""Match pools and the match ledger against a real database (SQLite, and
PostgreSQL when DATABASE_URL is set), through the real payment services."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from fundraiser.matching import card_pledges
from fundraiser.matching import ledger as match_ledger
from fundraiser.matching import services as matching
from fundraiser.matching.models import LedgerIsAppendOnly, MatchEntry, MatchPool
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.models import utcnow
from tests import support
from tests.factories import create_appeal, create_donation


def pool(db, appeal, cap=10_000, ratio=(1, 1), **kw):
    kw.setdefault("sponsor_name", "Ruth's Bakery")
    p = matching.create_pool(db.session, appeal_id=appeal.id, currency=appeal.currency,
                             cap_minor=cap, ratio=ratio, **kw)
    db.session.commit()
    return p


def give(db, appeal, amount, email="a@example.org", **kw):
    d = create_donation(db.session, appeal, amount_minor=amount, email=email, **kw)
    payments.transition_to(db.session, d.payment_id, states.SUCCEEDED)
    db.session.commit()
    return d


def matched(db, payment_id):
    return match_ledger.net_for_payment(db.session, payment_id)


def fresh(db, p):
    db.session.expire_all()
    return db.session.get(MatchPool, p.id)


def test_a_gift_is_matched_one_to_one_and_the_api_shows_it(db, client):
    appeal = create_appeal(db.session)
    p = pool(db, appeal, cap=10_000)
    d = give(db, appeal, 2_500)
    assert matched(db, d.payment_id) == 2_500
    body = client.get("/api/v1/appeals/test-appeal").get_json()
    assert body["matched_minor"] == 2_500
    assert body["raised_minor"] == 2_500 and body["total_minor"] == 5_000
    assert body["match_pools"] == [{
        "id": p.id, "sponsor": "Ruth's Bakery", "ratio": "1:1", "cap_minor": 10_000,
        "allocated_minor": 2_500, "remaining_minor": 7_500, "currency": "USD",
        "starts_at": None, "ends_at": None, "open": True}]


def test_ratios_two_to_one_and_one_to_two(db):
    appeal = create_appeal(db.session)
    double = pool(db, appeal, ratio=(2, 1), ends_at=utcnow() + timedelta(days=1))
    d = give(db, appeal, 1_001)
    assert matched(db, d.payment_id) == 2_002
    matching.change_pool(db.session, double.id, ends_at=utcnow() - timedelta(seconds=1))
    half = pool(db, appeal, ratio=(1, 2))
    db.session.commit()
    d2 = give(db, appeal, 1_001, email="b@example.org")
    # 1001 × 1/2 = 500.5 → 500: the half unit is not invented
    assert match_ledger.matches_for_payment(db.session, d2.payment_id) == [("pool", half.id, 500)]


def test_pools_are_drawn_ending_soonest_first_and_a_gift_spills_over(db):
    appeal = create_appeal(db.session)
    late = pool(db, appeal, cap=10_000, sponsor_name="Late", ends_at=utcnow() + timedelta(days=9))
    soon = pool(db, appeal, cap=1_000, sponsor_name="Soon", ends_at=utcnow() + timedelta(days=1))
    d = give(db, appeal, 2_500)
    assert sorted(match_ledger.matches_for_payment(db.session, d.payment_id)) == \
        [("pool", late.id, 1_500), ("pool", soon.id, 1_000)]
    rows = db.session.scalars(select(MatchEntry).where(MatchEntry.payment_id == d.payment_id)).all()
    assert len({r.group_id for r in rows}) == 1  # one event, one group


def test_an_exhausted_pool_matches_part_then_nothing(db):
    appeal = create_appeal(db.session)
    p = pool(db, appeal, cap=3_000)
    assert matched(db, give(db, appeal, 2_000).payment_id) == 2_000
    assert matched(db, give(db, appeal, 2_000, email="b@x.org").payment_id) == 1_000
    assert matched(db, give(db, appeal, 2_000, email="c@x.org").payment_id) == 0
    assert fresh(db, p).remaining_minor == 0


def test_rules_first_time_minimum_per_gift_limit_and_window(db):
    appeal = create_appeal(db.session)
    pool(db, appeal, cap=100_000, first_time_only=True, min_gift_minor=1_000,
         per_gift_limit_minor=5_000)
    assert matched(db, give(db, appeal, 999).payment_id) == 0          # under the minimum
    assert matched(db, give(db, appeal, 9_000, email="n@x.org").payment_id) == 5_000  # limit
    # the same donor again is no longer a first-time donor
    assert matched(db, give(db, appeal, 2_000, email="n@x.org").payment_id) == 0
    # the 999 gift made a@ a donor too
    assert matched(db, give(db, appeal, 2_000, email="a@example.org").payment_id) == 0
    future = create_appeal(db.session, slug="later")
    pool(db, future, starts_at=utcnow() + timedelta(days=1))
    assert matched(db, give(db, future, 2_000, email="z@x.org").payment_id) == 0


def test_a_failed_payment_matches_nothing(db):
    appeal = create_appeal(db.session)
    p = pool(db, appeal)
    d = create_donation(db.session, appeal)
    payments.transition_to(db.session, d.payment_id, states.FAILED)
    db.session.commit()
    assert matched(db, d.payment_id) == 0 and fresh(db, p).remaining_minor == 10_000


def test_partial_refunds_reverse_in_proportion_and_a_full_refund_exactly(db):
    appeal = create_appeal(db.session)
    p = pool(db, appeal, cap=100_000, ratio=(2, 1))
    d = give(db, appeal, 1_001)                      # match 2002
    assert payments.apply_refund_total(db.session, d.payment_id, 333) == 333
    db.session.commit()
    # keeps floor(2002 × 668 / 1001) = 1336
    assert matched(db, d.payment_id) == 1_336
    assert payments.apply_refund_total(db.session, d.payment_id, 333) == 0  # a repeat
    assert payments.apply_refund_total(db.session, d.payment_id, 1_000) == 667
    db.session.commit()
    assert matched(db, d.payment_id) == 2               # floor(2002 × 1 / 1001)
    assert payments.apply_refund_total(db.session, d.payment_id, 1_001) == 1
    db.session.commit()
    assert matched(db, d.payment_id) == 0
    assert fresh(db, p).remaining_minor == 100_000
    reversals = db.session.scalars(select(MatchEntry).where(MatchEntry.kind == "reversal")).all()
    assert sum(r.amount_minor for r in reversals) == -2_002
    assert all(r.reverses_id is not None for r in reversals)


def test_a_refund_delivered_twice_returns_the_match_once(db, client, app):
    appeal = create_appeal(db.session)
    p = pool(db, appeal)
    d = create_donation(db.session, appeal, amount_minor=4_000)
    db.session.commit()
    ok = support.intent_object("pi_r", "succeeded", 4_000, "USD", d.payment.reference)
    secret = app.config["STRIPE_WEBHOOK_SECRET"]

    def deliver(payload):
        r = client.post("/webhooks/stripe", data=payload, headers={
            "Content-Type": "application/json", "Stripe-Signature": support.sign(payload, secret)})
        assert r.status_code == 200, r.data
        return r.get_json()["outcome"]

    assert deliver(support.stripe_event("payment_intent.succeeded", ok)) == "applied"
    assert fresh(db, p).remaining_minor == 6_000
    refund = support.stripe_event("charge.refunded", {
        "id": "ch_r", "object": "charge", "payment_intent": "pi_r", "amount": 4_000,
        "amount_refunded": 4_000, "currency": "usd"}, event_id="evt_refund")
    assert deliver(refund) == "applied"
    assert deliver(refund) == "duplicate"
    # the same refund under another event id (Stripe may send both)
    again = refund.replace("evt_refund", "evt_refund_2")
    assert deliver(again) in ("repeat", "stale")
    assert fresh(db, p).remaining_minor == 10_000
    assert db.session.scalar(select(func.count()).select_from(MatchEntry)) == 2
    assert client.get("/api/v1/appeals/test-appeal").get_json()["matched_minor"] == 0


def test_a_dispute_reverses_and_a_won_dispute_matches_again(db):
    appeal = create_appeal(db.session)
    p = pool(db, appeal, cap=5_000)
    d = give(db, appeal, 3_000)
    payments.transition_to(db.session, d.payment_id, states.DISPUTED)
    db.session.commit()
    assert matched(db, d.payment_id) == 0 and fresh(db, p).remaining_minor == 5_000
    other = give(db, appeal, 4_000, email="b@x.org")     # takes 4000 meanwhile
    payments.transition_to(db.session, d.payment_id, states.SUCCEEDED)  # dispute won
    db.session.commit()
    assert matched(db, other.payment_id) == 4_000
    assert matched(db, d.payment_id) == 1_000            # only what was left
    payments.transition_to(db.session, d.payment_id, states.DISPUTED)
    payments.transition_to(db.session, d.payment_id, states.DISPUTE_LOST)
    db.session.commit()
    assert matched(db, d.payment_id) == 0 and fresh(db, p).remaining_minor == 1_000


def test_the_ledger_refuses_updates_and_deletes(db, backend):
    appeal = create_appeal(db.session)
    pool(db, appeal)
    d = give(db, appeal, 2_500)
    entry = db.session.scalar(select(MatchEntry).where(MatchEntry.payment_id == d.payment_id))
    entry.amount_minor = 1
    with pytest.raises(LedgerIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(LedgerIsAppendOnly):
        db.session.delete(db.session.get(MatchEntry, entry.id))
        db.session.flush()
    db.session.rollback()
    # and below the ORM: the database's own trigger
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("UPDATE match_ledger SET amount_minor = 1"))
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(update(MatchEntry).values(reason="x"))
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("DELETE FROM match_ledger"))
    db.session.rollback()
    assert matched(db, d.payment_id) == 2_500


def test_a_cap_can_grow_and_cannot_shrink_below_what_is_matched(db):
    appeal = create_appeal(db.session)
    p = pool(db, appeal, cap=3_000)
    give(db, appeal, 2_000)
    matching.change_pool(db.session, p.id, cap_minor=5_000)
    db.session.commit()
    assert (fresh(db, p).cap_minor, fresh(db, p).remaining_minor) == (5_000, 3_000)
    with pytest.raises(matching.MatchingError):
        matching.change_pool(db.session, p.id, cap_minor=1_999)
    db.session.rollback()
    matching.change_pool(db.session, p.id, cap_minor=2_000)
    db.session.commit()
    assert fresh(db, p).remaining_minor == 0


def test_pools_only_match_their_own_currency(db):
    appeal = create_appeal(db.session, currency="ILS")
    pool(db, appeal, cap=50_000)
    assert matched(db, give(db, appeal, 18_000).payment_id) == 18_000


def test_refunding_a_pledges_own_payment_withdraws_it_and_reverses_what_it_unlocked(db, client):
    appeal = create_appeal(db.session)
    funding = create_donation(db.session, appeal, amount_minor=5_000, email="dana@x.org")
    pledge = matching.create_pledge(
        db.session, appeal_id=appeal.id, currency="USD", amount_minor=5_000, pledger_name="Dana",
        pledger_email="dana@x.org", origin_payment_id=None, funding_payment_id=funding.payment_id)
    payments.transition_to(db.session, funding.payment_id, states.SUCCEEDED)
    db.session.commit()
    friend = give(db, appeal, 2_000, email="noa@x.org", source=pledge.code)
    own = give(db, appeal, 1_000, email="dana@x.org", source=pledge.code)
    assert matched(db, friend.payment_id) == 2_000
    assert matched(db, own.payment_id) == 0          # not matched by her own pledge
    payments.apply_refund_total(db.session, funding.payment_id, 1)   # any refund of it
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(type(pledge), pledge.id).status == "withdrawn"
    assert matched(db, friend.payment_id) == 0
    assert client.get("/api/v1/appeals/test-appeal").get_json()["pledges"] == []
    later = give(db, appeal, 2_000, email="omri@x.org", source=pledge.code)
    assert matched(db, later.payment_id) == 0
    page = client.get("/appeals/test-appeal/matching").data.decode()
    assert "pledge withdrawn: line" in page and "Dana" in page


def test_a_saved_card_pledge_whose_closing_charge_fails_is_withdrawn(db, client):
    from fundraiser.payments.gateway import CardSetup

    appeal = create_appeal(db.session)
    origin = give(db, appeal, 1_000, email="dana@x.org")
    pledge = matching.create_pledge(
        db.session, appeal_id=appeal.id, currency="USD", amount_minor=5_000, pledger_name="Dana",
        pledger_email="dana@x.org", origin_payment_id=origin.payment_id,
        funding_payment_id=None, mode="card_saved")
    assert card_pledges.record_card_setup(db.session, pledge.id, CardSetup(
        "seti_1", "succeeded", "cus_1", None, "pm_1"))
    db.session.commit()
    friend = give(db, appeal, 2_000, email="noa@x.org", source=pledge.code)
    assert client.get("/api/v1/appeals/test-appeal").get_json()["matched_minor"] == 2_000
    assert card_pledges.close_card_pledge(db.session, pledge.id) == 2_000
    assert card_pledges.close_card_pledge(db.session, pledge.id) == 0      # once
    db.session.commit()
    charge_id = db.session.get(type(pledge), pledge.id).charge_payment_id
    # e.g. reconcile gives up on a charge whose answer never came
    payments.transition_to(db.session, charge_id, states.FAILED, failure_code="no_intent")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(type(pledge), pledge.id).status == "withdrawn"
    assert matched(db, friend.payment_id) == 0
    assert client.get("/api/v1/appeals/test-appeal").get_json()["matched_minor"] == 0


def test_a_payments_gift_is_read_once_per_transaction_and_never_across_one(db):
    """Matching, monthly gifts and the public cache each ask which gift and
    appeal a payment belongs to; they share one answer within a transaction,
    and a later transaction reads again (an appeal renamed meanwhile drops the
    page under its new address, not the old one)."""
    from fundraiser.appeals.models import Appeal
    from fundraiser.donations.services import gift_of

    appeal = create_appeal(db.session, slug="first-name")
    payment_id = create_donation(db.session, appeal, amount_minor=1_000).payment_id
    db.session.commit()
    asked = []
    with support.count_statements(db.engine) as statements:
        asked.append(gift_of(db.session, payment_id).slug)
        asked.append(gift_of(db.session, payment_id).slug)
    assert asked == ["first-name", "first-name"]
    assert [s.split()[0] for s in statements] == ["SELECT"]
    db.session.execute(update(Appeal).where(Appeal.id == appeal.id).values(slug="new-name"))
    db.session.commit()
    assert gift_of(db.session, payment_id).slug == "new-name"
    db.session.rollback()
    assert gift_of(db.session, 999_999) is None


def test_a_gift_and_its_appeals_pools_are_read_in_one_query(db):
    """The success path reads the gift, its appeal's pools in the appeal's
    currency (by id; another appeal's, or another currency's, are not its)
    and what the payment holds matched already in one query, and gift_of
    answers from it without asking again."""
    from fundraiser.donations.services import gift_and_pools, gift_of

    appeal = create_appeal(db.session)
    other = create_appeal(db.session, slug="other-appeal")
    first, second = pool(db, appeal).id, pool(db, appeal, cap=500).id
    pool(db, other)
    matching.create_pool(db.session, appeal_id=appeal.id, currency="EUR", cap_minor=700,
                         sponsor_name="Elsewhere")
    payment_id = create_donation(db.session, appeal, amount_minor=1_000).payment_id
    bare = create_donation(db.session, other, amount_minor=1_000).payment_id
    db.session.commit()
    with support.count_statements(db.engine) as statements:
        gift, pools, matched = gift_and_pools(db.session, payment_id)
        assert gift_of(db.session, payment_id) is gift
    assert len(statements) == 1
    assert [(p.id, p.remaining_minor, p.currency) for p in pools] == [
        (first, 10_000, "USD"), (second, 500, "USD")]
    assert (gift.slug, gift.currency, gift.donation.amount_minor, matched) == (
        "test-appeal", "USD", 1_000, 0)
    db.session.rollback()
    give_id = give(db, appeal, 1_000).payment_id
    assert gift_and_pools(db.session, give_id)[2] == 1_000  # matched at its success
    db.session.rollback()
    db.session.execute(delete(MatchPool).where(MatchPool.appeal_id == other.id))
    gift, pools, matched = gift_and_pools(db.session, bare)
    assert gift.slug == "other-appeal" and pools == [] and matched == 0  # no pool: one row
    assert gift_and_pools(db.session, 999_999) == (None, [], None)


def test_a_gift_matched_by_one_pool_succeeds_in_five_statements_three_on_postgresql(
        db, monkeypatch):
    """The success path is what every gift and every webhook pays for: the
    move (one UPDATE that also says where from and the figures), its history
    row, the gift with its appeal's pools and the payment's earlier matches
    (one query), the draw and the ledger row. On PostgreSQL the move writes
    its history row and the draw its ledger row in the same statement. (The
    receipt is a job of its own with a queue; here it is only asked for,
    with what the gift unlocked.)"""
    from fundraiser.donations import receipts

    asked = []
    monkeypatch.setattr(receipts, "send_receipt", lambda session, payment_id,
                        matched_minor=None: asked.append((payment_id, matched_minor)))
    appeal = create_appeal(db.session)
    pool_id = pool(db, appeal).id
    payment_id = create_donation(db.session, appeal, amount_minor=1_000).payment_id
    db.session.commit()
    with support.count_statements(db.engine) as statements:
        payments.transition_to(db.session, payment_id, states.SUCCEEDED)
    kinds = [" ".join(s.split()[:3]) for s in statements]
    if db.engine.dialect.name == "postgresql":
        assert kinds == ["WITH moved AS", "SELECT donations.id, donations.public_id,",
                         "WITH taken AS"], kinds
    else:
        assert [k.split()[0] for k in kinds] == [
            "UPDATE", "INSERT", "SELECT", "UPDATE", "INSERT"], kinds
    assert sum("LEFT OUTER JOIN match_pools" in s for s in statements) == 1
    assert asked == [(payment_id, 1_000)]
    db.session.commit()
    assert matched(db, payment_id) == 1_000
    assert db.session.get(MatchPool, pool_id).remaining_minor == 9_000


def test_a_payment_matched_already_is_not_matched_again(db):
    """The success listener heard twice for one payment (a signal sent again,
    a listener run twice): the second finds the match on the ledger, read
    with the pools, and draws nothing."""
    from fundraiser.donations import matching_hooks

    appeal = create_appeal(db.session)
    pool_id = pool(db, appeal).id
    payment_id = create_donation(db.session, appeal, amount_minor=1_000).payment_id
    payments.transition_to(db.session, payment_id, states.SUCCEEDED)
    db.session.commit()
    assert matched(db, payment_id) == 1_000
    donation, again = matching_hooks._allocate(db.session, payment_id, "gift")
    db.session.commit()
    assert donation is not None and again is None
    assert matched(db, payment_id) == 1_000
    assert db.session.get(MatchPool, pool_id).remaining_minor == 9_000


def test_a_pool_changed_after_the_gift_read_it_is_drawn_by_its_new_terms(db):
    """Matching reads the pools without a lock and draws only if the pool
    still has the amount and the terms it read: a sponsor's change committed
    in between (here: 1:1 became 2:1) means no draw and no ledger row on
    those terms, and a plan again under the pool's lock, by the new ones."""
    from fundraiser.donations.services import gift_and_pools
    from fundraiser.matching import rules

    appeal = create_appeal(db.session)
    pool_id = pool(db, appeal).id
    payment_id = create_donation(db.session, appeal, amount_minor=1_000).payment_id
    db.session.commit()
    _gift, pools, matched = gift_and_pools(db.session, payment_id)
    sources = match_ledger.sources_of(db.session, appeal_id=appeal.id, pledge_code=None,
                                      pools=pools, matched_minor=matched)
    with db.engine.begin() as other:  # the sponsor's change, committed meanwhile
        other.execute(update(MatchPool).where(MatchPool.id == pool_id).values(ratio_match=2))
    entries = match_ledger.allocate(
        db.session, appeal_id=appeal.id, payment_id=payment_id, sources=sources,
        gift=rules.Gift(amount_minor=1_000, currency="USD", at=utcnow()))
    db.session.commit()
    assert [(e.pool_id, e.amount_minor) for e in entries] == [(pool_id, 2_000)]
    rows = db.session.execute(select(MatchEntry.amount_minor)
                              .where(MatchEntry.payment_id == payment_id)).scalars().all()
    assert rows == [2_000]
    assert fresh(db, db.session.get(MatchPool, pool_id)).remaining_minor == 8_000


def test_a_stored_success_event_is_applied_in_eight_statements_six_on_postgresql(
        db, monkeypatch):
    """What a worker pays for each webhook: take the oldest waiting event,
    find its payment, the success path (five statements, three on
    PostgreSQL), and mark the event applied; the payment is not read again
    after its move."""
    from fundraiser.donations import receipts
    from fundraiser.payments.gateway import GatewayEvent

    monkeypatch.setattr(receipts, "send_receipt", lambda *a, **kw: None)
    appeal = create_appeal(db.session)
    pool(db, appeal)
    gift = create_donation(db.session, appeal, amount_minor=1_000)
    gift.payment.intent_id = "pi_known"  # the charge began: its intent is known
    obj = support.intent_object("pi_known", "succeeded", 1_000, "USD", gift.payment.reference)
    payments.store_event(db.session, GatewayEvent(id="evt_1", type="payment_intent.succeeded",
                                                  created=0, object=obj))
    db.session.commit()
    with support.count_statements(db.engine) as statements:
        row = payments.take_waiting_event(db.session)
        assert payments.apply_event_row(db.session, row) == "applied"
    kinds = [" ".join(s.split()[:2]) for s in statements]
    success = (["WITH moved", "SELECT donations.id,", "WITH taken"]
               if db.engine.dialect.name == "postgresql" else
               ["UPDATE payments", "INSERT INTO", "SELECT donations.id,", "UPDATE match_pools",
                "INSERT INTO"])
    assert kinds == ["SELECT webhook_events.id,", "SELECT payments.id,", *success,
                     "UPDATE webhook_events"], kinds
    db.session.commit()
    assert matched(db, gift.payment_id) == 1_000


def test_one_payment_moved_by_eight_transactions_at_once_succeeds_and_is_matched_once(
        app, db):
    """Eight deliveries of a success (different events, one payment) applied
    at once: one moves it, the others find it moved. One history row, one
    match, the pool drawn once."""
    from fundraiser.payments.models import PaymentStatusChange

    appeal = create_appeal(db.session)
    pool_id = pool(db, appeal).id
    payment_id = create_donation(db.session, appeal, amount_minor=1_000).payment_id
    db.session.commit()
    moved = []
    errors = support.in_threads(app, db, lambda _n: moved.append(
        payments.transition_to(db.session, payment_id, states.SUCCEEDED)), list(range(8)))
    assert errors == [] and sorted(moved) == [False] * 7 + [True]
    history = db.session.execute(select(PaymentStatusChange.from_status,
                                        PaymentStatusChange.to_status).where(
        PaymentStatusChange.payment_id == payment_id)).all()
    assert [tuple(h) for h in history] == [(states.CREATED, states.SUCCEEDED)]
    assert matched(db, payment_id) == 1_000
    assert db.session.get(MatchPool, pool_id).remaining_minor == 9_000
