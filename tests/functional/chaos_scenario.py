"""A seeded chaos scenario for the webhook endpoint: gifts with a planned life
(success, failure, partial and full refunds, disputes won and lost), the
Stripe-shaped events that life produces, a delivery order mangled the way a
network mangles it (duplicates, reordering, delays, forgeries), and the
ledger those gifts must add up to, computed here from the plan alone (the
documented rounding rule, not the product's code)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

# How a planned gift's life goes, with its weight in the draw.
FATES = {
    "succeeded": 40, "failed": 9, "failed_then_succeeded": 5, "partial_refund": 12,
    "two_partial_refunds": 6, "full_refund": 9, "dispute_won": 7, "dispute_lost": 7,
    "refund_then_dispute_lost": 4, "never_paid": 3,
}
# The capped pool's appeal only sees successes and failures: a refund there
# after the cap is used up gives room back that no later gift may claim,
# and Σ matched == min(cap, Σ eligible × ratio) only holds without reversals.
CAPPED_FATES = {"succeeded": 8, "failed": 2, "failed_then_succeeded": 1}
COUNTED_FATES = {"succeeded", "failed_then_succeeded", "partial_refund",
                 "two_partial_refunds", "dispute_won"}


@dataclass
class PlannedGift:
    n: int
    appeal: str
    currency: str
    amount: int
    email: str
    fate: str
    refunds: list[int] = field(default_factory=list)  # cumulative totals, in order
    intent_id: str = ""
    reference: str = ""          # filled in once the Payment row exists
    real: bool = False           # charged at localstripe (3-D Secure), events built from it

    @property
    def refunded(self) -> int:
        return self.refunds[-1] if self.refunds else 0

    @property
    def counted(self) -> bool:
        return self.fate in COUNTED_FATES

    @property
    def net(self) -> int:
        return self.amount - self.refunded if self.counted else 0

    @property
    def ever_succeeded(self) -> bool:
        return self.fate not in ("failed", "never_paid")


@dataclass
class Event:
    gift: PlannedGift
    type: str
    event_id: str
    obj: dict
    at: float                    # when it happened, in the scenario's clock

    def payload(self) -> str:
        return json.dumps({"id": self.event_id, "object": "event", "type": self.type,
                           "created": int(self.at), "livemode": False,
                           "api_version": "2020-08-27", "data": {"object": self.obj}})


@dataclass
class Delivery:
    event: Event
    signature: str = "good"      # good | wrong secret | tampered body | stale timestamp
    kind: str = "original"       # original | duplicate | forged


def plan_gifts(rng: random.Random, appeals: dict[str, str], n_gifts: int,
               capped: str, donors: int) -> list[PlannedGift]:
    gifts = []
    slugs = list(appeals)
    for n in range(n_gifts):
        slug = slugs[n % len(slugs)]
        table = CAPPED_FATES if slug == capped else FATES
        fate = rng.choices(list(table), weights=list(table.values()))[0]
        amount = rng.randint(100, 40_000)
        gift = PlannedGift(n=n, appeal=slug, currency=appeals[slug], amount=amount,
                           email=f"donor{rng.randrange(donors)}@example.org", fate=fate,
                           intent_id=f"pi_chaos{n:04d}{rng.randrange(16**6):06x}")
        if fate == "partial_refund":
            gift.refunds = [rng.randint(1, amount - 1)]
        elif fate == "two_partial_refunds":
            first = rng.randint(1, amount - 2)
            gift.refunds = [first, rng.randint(first + 1, amount - 1)]
        elif fate == "refund_then_dispute_lost":
            gift.refunds = [rng.randint(1, amount - 1)]
        elif fate == "full_refund":
            gift.refunds = ([rng.randint(1, amount - 1)] if rng.random() < 0.5 else []) \
                + [amount]
        gifts.append(gift)
    return gifts


def intent_obj(gift: PlannedGift, status: str) -> dict:
    failed = status == "requires_payment_method"
    return {"id": gift.intent_id, "object": "payment_intent", "status": status,
            "amount": gift.amount, "currency": gift.currency.lower(),
            "metadata": {"fundraiser_ref": gift.reference},
            "client_secret": gift.intent_id + "_secret_chaos",
            "last_payment_error": {"code": "card_declined",
                                   "message": "Your card was declined."} if failed else None}


def charge_obj(gift: PlannedGift, refunded: int) -> dict:
    return {"id": "ch_" + gift.intent_id[3:], "object": "charge",
            "payment_intent": gift.intent_id, "amount": gift.amount,
            "amount_refunded": refunded, "currency": gift.currency.lower(),
            "refunded": refunded >= gift.amount, "status": "succeeded"}


def dispute_obj(gift: PlannedGift, status: str) -> dict:
    return {"id": "dp_" + gift.intent_id[3:], "object": "dispute",
            "charge": "ch_" + gift.intent_id[3:], "payment_intent": gift.intent_id,
            # what is disputed is what was left after refunds
            "amount": gift.amount - gift.refunded, "currency": gift.currency.lower(),
            "status": status,
            "reason": "fraudulent"}


def events_for(gift: PlannedGift, rng: random.Random, ids) -> list[Event]:
    """The events this gift's life sends, in the order they happened."""
    t = rng.uniform(0, 1000)
    out = []

    def add(type_, obj, gap=(1, 120)):
        nonlocal t
        t += rng.uniform(*gap)
        out.append(Event(gift, type_, next(ids), obj, t))

    fate = gift.fate
    if fate == "never_paid":
        return out
    if fate in ("failed", "failed_then_succeeded"):
        add("payment_intent.payment_failed", intent_obj(gift, "requires_payment_method"))
        if fate == "failed":
            return out
    add("payment_intent.succeeded", intent_obj(gift, "succeeded"))
    for total in gift.refunds:
        add("charge.refunded", charge_obj(gift, total))
    if "dispute_" in fate:
        add("charge.dispute.created", dispute_obj(gift, "needs_response"))
        add("charge.dispute.closed", dispute_obj(gift, fate.rsplit("_", 1)[1]))
    return out


def mangle(rng: random.Random, events: list[Event], *, duplicate=0.10, reorder=0.20,
           delay=0.05, forged=0.03, window=40):
    """The delivery order: `events` sorted by time, then `reorder` of them
    moved up to `window` places either way, `duplicate` of them delivered a
    second time later on, `delay` of them held back until after a reconcile
    run, and `forged` extra deliveries with a bad signature. Returns (before
    reconcile, after reconcile, figures)."""
    stream = [Delivery(e) for e in sorted(events, key=lambda e: e.at)]
    moved = rng.sample(range(len(stream)), round(reorder * len(stream)))
    for i in moved:
        item = stream[i]
        stream.remove(item)
        stream.insert(max(0, min(len(stream), i + rng.randint(-window, window))), item)
    held = rng.sample(stream, round(delay * len(stream)))
    for item in held:
        stream.remove(item)
    for item in rng.sample(stream + held, round(duplicate * len(events))):
        # the copy comes some time after the original, in the same batch
        target = held if item in held else stream
        target.insert(rng.randint(target.index(item) + 1, len(target)),
                      Delivery(item.event, kind="duplicate"))
    n_forged = round(forged * len(events))
    for k in range(n_forged):
        victim = rng.choice(events)
        how = ("wrong secret", "tampered body", "stale timestamp")[k % 3]
        # A fresh id, so a forgery that got through would show as a new row.
        fake = Event(victim.gift, victim.type, f"evt_forged{k:04d}", dict(victim.obj), victim.at)
        if fake.type == "charge.refunded":
            fake.obj["amount_refunded"] = victim.gift.amount
        elif fake.type.startswith("payment_intent."):
            fake.obj["status"] = "succeeded"
        elif fake.type.startswith("charge.dispute."):
            fake.obj["status"] = "lost"
        stream.insert(rng.randrange(len(stream) + 1), Delivery(fake, how, "forged"))
    figures = {"events": len(events), "reordered": len(moved), "delayed": len(held),
               "duplicates": round(duplicate * len(events)), "forged": n_forged}
    return stream, held, figures


# -- what the ledger must say ---------------------------------------------------

def expected_open_match(gift: PlannedGift, ratio_match: int, ratio_gift: int) -> int:
    """A gift's match from a pool that never runs short, by the README's
    rounding rule: the allocation A = floor(amount × m / g) at success keeps
    floor(A × net / amount) after refunds; a dispute takes it all back and a
    won dispute allocates it again."""
    if not gift.counted:
        return 0
    allocated = gift.amount * ratio_match // ratio_gift
    return allocated * gift.net // gift.amount


def expected_appeal(gifts: list[PlannedGift], slug: str) -> dict:
    mine = [g for g in gifts if g.appeal == slug]
    counted = [g for g in mine if g.counted]
    return {"raised_minor": sum(g.net for g in counted),
            "donation_count": len(counted),
            "donor_count": len({g.email for g in counted}),
            "refunded_minor": sum(g.refunded for g in mine)}
