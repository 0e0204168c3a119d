"""Chaos replay: about a thousand signed Stripe events from planned gift,
refund and dispute lives, delivered the way a network delivers them
(duplicated, reordered, delayed past `reconcile`, some forged), and the
ledger must come out exactly as the plan says, to the cent.

The run is seeded: CHAOS_SEED=<n> replays one exactly (the failure message
prints the seed). CHAOS_GIFTS sets the number of planned gifts."""

from __future__ import annotations

import itertools
import os
import random
import time

import requests
from sqlalchemy import func, select

from fundraiser.donations.models import Donation
from fundraiser.matching import services as matching
from fundraiser.matching.models import MatchEntry, MatchPool
from fundraiser.payments.models import Payment, WebhookEvent
from tests import support
from tests.factories import create_appeal

from . import chaos_scenario as chaos

SEED = int(os.environ.get("CHAOS_SEED", "15"))
N_GIFTS = int(os.environ.get("CHAOS_GIFTS", "680"))
N_REAL = 24                    # gifts charged at localstripe for real (3-D Secure)
THREE_DS = "4000002760003184"
APPEALS = {"chaos-open": "USD", "chaos-capped": "USD", "chaos-shekel": "ILS"}
OPEN_RATIO, CAPPED_RATIO = (1, 2), (2, 1)
CAPPED_CAP = 500_000
FINAL_STATUS = {
    "succeeded": "succeeded", "failed_then_succeeded": "succeeded", "failed": "failed",
    "partial_refund": "partially_refunded", "two_partial_refunds": "partially_refunded",
    "full_refund": "refunded", "dispute_won": "succeeded", "dispute_lost": "dispute_lost",
    "refund_then_dispute_lost": "dispute_lost", "never_paid": "created",
}


def deliver(client, app, delivery: chaos.Delivery):
    payload = delivery.event.payload()
    secret = app.config["STRIPE_WEBHOOK_SECRET"]
    signature = {
        "good": lambda: support.sign(payload, secret),
        "wrong secret": lambda: support.sign(payload, "whsec_not_ours"),
        "tampered body": lambda: support.sign(payload.replace('"livemode": false',
                                                              '"livemode": true'), secret),
        "stale timestamp": lambda: support.sign(payload, secret, int(time.time()) - 3600),
    }[delivery.signature]()
    return client.post("/webhooks/stripe", data=payload,
                       headers={"Content-Type": "application/json",
                                "Stripe-Signature": signature})


def make_rows(db, gifts, appeals):
    """Each planned gift becomes a Donation and Payment, the way the gift
    form makes them, still `created` (the webhook is the first to say)."""
    from fundraiser.donations import services as donations
    from fundraiser.money import Money

    for gift in gifts:
        donation = donations.start_donation(
            db.session, appeals[gift.appeal], amount=Money(gift.amount, gift.currency),
            name=f"Donor {gift.n}", email=gift.email)
        db.session.flush()
        gift.reference = donation.payment.reference
    db.session.commit()


def charge_real(donor, rng, gift):
    """A 3-D Secure gift at localstripe: the donor authenticates (or fails to),
    then closes the tab; our row stays `requires_action` until a webhook or
    reconcile. The events are built from localstripe's own PaymentIntent."""
    public_id = donor.start(gift.appeal, amount=f"{gift.amount / 100:.2f}",
                            email=gift.email, name=f"Real donor {gift.n}")
    answer = donor.charge(public_id, support.card_token(donor.localstripe, THREE_DS)).get_json()
    assert answer["status"] == "requires_action", answer
    success = gift.fate == "succeeded"
    support.authenticate_3ds(donor.localstripe, answer["client_secret"], success=success)
    gift.intent_id = answer["client_secret"].split("_secret_")[0]
    intent = requests.get(f"{donor.localstripe}/v1/payment_intents/{gift.intent_id}",
                          headers={"Authorization": "Bearer sk_test_localstripe"},
                          timeout=5).json()
    gift.reference = intent["metadata"]["fundraiser_ref"]
    type_ = "payment_intent.succeeded" if success else "payment_intent.payment_failed"
    return chaos.Event(gift, type_, f"evt_real{gift.n:04d}{rng.randrange(16**6):06x}",
                       intent, time.time())


def test_a_thousand_mangled_webhooks_leave_the_ledger_exact(
        app, db, client, donor, runner, backend):
    started = time.monotonic()
    rng = random.Random(SEED)
    appeals = {slug: create_appeal(db.session, slug=slug, currency=cur, title=slug,
                                   goal_major=1_000_000)
               for slug, cur in APPEALS.items()}
    open_pool = matching.create_pool(
        db.session, appeal_id=appeals["chaos-open"].id, currency="USD",
        cap_minor=10**10, ratio=OPEN_RATIO, sponsor_name="Ample Sponsor")
    capped_pool = matching.create_pool(
        db.session, appeal_id=appeals["chaos-capped"].id, currency="USD",
        cap_minor=CAPPED_CAP, ratio=CAPPED_RATIO, sponsor_name="Capped Sponsor")
    db.session.commit()
    pools = {"chaos-open": open_pool.id, "chaos-capped": capped_pool.id}

    gifts = chaos.plan_gifts(rng, APPEALS, N_GIFTS, "chaos-capped", donors=150)
    make_rows(db, gifts, appeals)
    ids = (f"evt_chaos{n:05d}" for n in itertools.count())
    events = [e for g in gifts for e in chaos.events_for(g, rng, ids)]
    stream, held, figures = chaos.mangle(rng, events)

    real = [chaos.PlannedGift(n=N_GIFTS + k, appeal="chaos-open", currency="USD",
                              amount=rng.randint(1_000, 40_000),
                              email=f"donor{rng.randrange(150)}@example.org",
                              fate="succeeded" if k % 4 else "failed", real=True)
            for k in range(N_REAL)]
    real_events = [charge_real(donor, rng, g) for g in real]
    gifts += real
    events += real_events
    # Their events come only after reconcile has found them at localstripe.
    for event in real_events:
        held.insert(rng.randrange(len(held) + 1), chaos.Delivery(event))
    figures["events"] += len(real_events)
    figures["delayed"] += len(real_events)

    outcomes = {}
    wrong = []
    half = len(stream) // 2

    def replay(batch):
        for delivery in batch:
            response = deliver(client, app, delivery)
            want = 400 if delivery.kind == "forged" else 200
            if response.status_code != want:
                wrong.append((delivery.event.event_id, delivery.kind, response.status_code,
                              response.data[:200]))
                continue
            if want == 200:
                outcome = response.get_json()["outcome"]
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

    replay(stream[:half])
    assert runner.invoke(args=["reconcile", "--since", "1d"]).exit_code == 0
    replay(stream[half:])
    result = runner.invoke(args=["reconcile", "--since", "1d"])
    assert result.exit_code == 0, result.output
    replay(held)
    db.session.rollback()
    assert not wrong, f"seed {SEED}: unexpected answers {wrong[:5]}"

    # -- the ledger, against the plan ---------------------------------------
    problems = []
    lost = 0
    statuses = dict(db.session.execute(select(Payment.reference, Payment.status)).all())
    matched_by_ref = dict(db.session.execute(
        select(Payment.reference, func.coalesce(func.sum(MatchEntry.amount_minor), 0))
        .join(MatchEntry, MatchEntry.payment_id == Payment.id, isouter=True)
        .group_by(Payment.reference)).all())
    for gift in gifts:
        want = FINAL_STATUS[gift.fate]
        if statuses[gift.reference] != want:
            problems.append(f"gift {gift.n} ({gift.fate}): {statuses[gift.reference]}, "
                            f"expected {want}")
        if gift.appeal == "chaos-open":
            want_match = chaos.expected_open_match(gift, *OPEN_RATIO)
            if matched_by_ref[gift.reference] != want_match:
                problems.append(f"gift {gift.n} ({gift.fate}): matched "
                                f"{matched_by_ref[gift.reference]}, expected {want_match}")

    for slug in APPEALS:
        expected = chaos.expected_appeal(gifts, slug)
        got = client.get(f"/api/v1/appeals/{slug}").get_json()
        refunded = db.session.scalar(
            select(func.coalesce(func.sum(Payment.refunded_minor), 0))
            .join(Donation, Donation.payment_id == Payment.id)
            .where(Donation.appeal_id == appeals[slug].id))
        if slug == "chaos-open":
            expected["matched_minor"] = sum(chaos.expected_open_match(g, *OPEN_RATIO)
                                            for g in gifts if g.appeal == slug)
        elif slug == "chaos-capped":
            eligible = sum(g.amount for g in gifts if g.appeal == slug and g.counted)
            expected["matched_minor"] = min(
                CAPPED_CAP, eligible * CAPPED_RATIO[0] // CAPPED_RATIO[1])
        else:
            expected["matched_minor"] = 0
        expected["total_minor"] = expected["raised_minor"] + expected["matched_minor"]
        actual = {k: got[k] for k in expected if k != "refunded_minor"}
        actual["refunded_minor"] = int(refunded)
        for key in ("raised_minor", "matched_minor", "refunded_minor"):
            lost += abs(actual[key] - expected[key])
        if actual != expected:
            problems.append(f"{slug}: API/ledger {actual}, expected {expected}")
        if slug in pools:
            pool = db.session.get(MatchPool, pools[slug])
            ledger = db.session.scalar(select(func.coalesce(func.sum(MatchEntry.amount_minor), 0))
                                       .where(MatchEntry.pool_id == pool.id))
            shown = next(p for p in got["match_pools"] if p["id"] == pool.id)
            if not (ledger == pool.cap_minor - pool.remaining_minor == shown["allocated_minor"]
                    == expected["matched_minor"] and pool.remaining_minor >= 0):
                problems.append(f"{slug} pool: ledger {ledger}, cap-remaining "
                                f"{pool.cap_minor - pool.remaining_minor}, API {shown}")

    # Every authentic event stored once; no forgery stored at all.
    stored = set(db.session.scalars(select(WebhookEvent.event_id)))
    if stored != {e.event_id for e in events}:
        problems.append(f"stored events differ: {len(stored)} vs {len(events)}, forged "
                        f"stored: {sorted(s for s in stored if 'forged' in s)[:5]}")
    # A receipt per gift that ever went through, never two.
    receipts = len(getattr(app.extensions["mailman"], "outbox", []))
    if receipts != sum(g.ever_succeeded for g in gifts):
        problems.append(f"{receipts} receipts for {sum(g.ever_succeeded for g in gifts)} gifts")

    elapsed = time.monotonic() - started
    replayed = len(stream) + len(held)
    print(f"\nchaos [{backend}] seed {SEED}: {replayed} deliveries of {figures['events']} "
          f"events ({figures['duplicates']} duplicates, {figures['reordered']} reordered, "
          f"{figures['delayed']} delayed past reconcile, {figures['forged']} bad signatures); "
          f"outcomes {outcomes}; money lost {lost}; {elapsed:.1f} s")
    assert not problems, f"seed {SEED}, money lost {lost}:\n" + "\n".join(problems[:30])
    assert lost == 0
