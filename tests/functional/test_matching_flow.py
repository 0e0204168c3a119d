"""Matching through whole flows: the test client, a real localstripe and
the real payment path."""

import re

from sqlalchemy import func, select, text

from fundraiser.matching import services as matching
from fundraiser.matching.models import MatchEntry, MatchPledge, MatchPool
from fundraiser.payments import services as payments
from fundraiser.payments import states
from tests import support
from tests.factories import create_donation
from tests.support import in_threads

VISA = "4242424242424242"


def api(client, slug="test-appeal"):
    return client.get(f"/api/v1/appeals/{slug}").get_json()


def csrf_of(html: bytes) -> str:
    return re.search(rb'name="csrf-token" content="([^"]+)"', html).group(1).decode()


def test_a_friend_gives_through_a_pledge_link_and_the_pledger_page_shows_it(
        donor, appeal, client, db, app):
    # Dana gives, then pledges to match friends up to $50, given in full now.
    gift = donor.start(amount="25", name="Dana Levi", email="dana@example.org")
    assert donor.charge(gift, support.card_token(donor.localstripe, VISA)) \
        .get_json()["status"] == "succeeded"
    thanks = client.get(f"/give/{gift}/thanks")
    page = thanks.data.decode()
    assert "Ask your friends, and match them" in page
    assert "you give the full amount now, by card" in page
    # the form must be confirmed: without "agree" it says so next to the box
    bad = client.post(f"/give/{gift}/pledge", data={
        "csrf_token": csrf_of(thanks.data), "amount": "50", "display_name": "Dana",
        "mode": "pay_now"})
    assert bad.status_code == 422 and "Please confirm that you understand" in \
        bad.data.decode() and 'aria-describedby="agree-error"' in bad.data.decode()
    made = client.post(f"/give/{gift}/pledge", data={
        "csrf_token": csrf_of(thanks.data), "amount": "50", "display_name": "Dana",
        "mode": "pay_now", "agree": "y"})
    assert made.status_code == 303
    funding = made.headers["Location"].rsplit("/", 1)[1]
    pay_page = client.get(f"/give/{funding}").data.decode()
    assert "This is your pledge to match friends" in pay_page and "$50.00" in pay_page
    assert donor.charge(funding, support.card_token(donor.localstripe, VISA)) \
        .get_json()["status"] == "succeeded"
    pledge = db.session.scalar(select(MatchPledge))
    assert pledge.status == "active"
    funded_thanks = client.get(f"/give/{funding}/thanks").data.decode()
    assert "Your pledge is live" in funded_thanks and f"ref={pledge.code}" in funded_thanks

    # The pledge page and the share link
    pledge_page = client.get(f"/match/{pledge.code}").data.decode()
    assert "Dana will match your gift up to $50" in pledge_page
    landing = client.get(f"/appeals/test-appeal?ref={pledge.code}").data.decode()
    assert "Dana will match your gift up to $50." in landing
    assert f'value="{pledge.code}"' in landing  # the hidden source field
    preview = client.get(f"/appeals/test-appeal/match-preview?amount=30&ref={pledge.code}")
    assert preview.get_json()["matched_minor"] == 3000
    assert "will be matched with $30.00 by Dana" in preview.get_json()["message"]

    # A friend gives $30 through the link
    friend = donor.start(amount="30", name="Noa Friend", email="noa@example.org",
                         source=pledge.code)
    friend_pay = client.get(f"/give/{friend}").data.decode()
    assert "will be matched with $30.00 by Dana" in friend_pay      # told before paying
    assert donor.charge(friend, support.card_token(donor.localstripe, VISA)) \
        .get_json()["status"] == "succeeded"
    assert "Your gift unlocked $30.00 in matching money" in \
        client.get(f"/give/{friend}/thanks").data.decode()           # and after
    receipt = [m for m in app.extensions["mailman"].outbox if "noa@example.org" in m.to][0]
    assert "Your gift unlocked $30.00 in matching money" in receipt.body

    after = client.get(f"/match/{pledge.code}").data.decode()
    assert "$30" in after and "$20" in after  # unlocked / still to unlock
    body = api(client)
    assert body["pledges"] == [{
        "id": pledge.id, "pledger": "Dana", "ratio": "1:1", "pledged_minor": 5000,
        "unlocked_minor": 3000, "remaining_minor": 2000, "currency": "USD",
        "paid_upfront": True, "status": "active"}]
    # Dana's $25 + $50 pledge + Noa's $30 are money given; the unlock is not counted twice
    assert (body["raised_minor"], body["matched_minor"], body["total_minor"]) == \
        (10500, 0, 10500)
    # a second friend gives $30: only $20 is left, and is told so first
    second = donor.start(amount="30", name="Omri", email="omri@example.org",
                         source=pledge.code)
    assert "not in full" in client.get(f"/give/{second}").data.decode()
    donor.charge(second, support.card_token(donor.localstripe, VISA))
    assert api(client)["pledges"][0]["remaining_minor"] == 0
    # Dana giving through her own link is not matched by her own pledge
    ledger = client.get("/appeals/test-appeal/matching").data.decode()
    assert "Friends matching friends" in ledger and "Dana" in ledger


def test_how_you_pay_starts_unchosen_and_a_pledge_without_a_choice_is_refused(client, db):
    from fundraiser.payments.models import Payment
    from tests.factories import create_appeal

    appeal = create_appeal(db.session, slug="choose")
    gift = create_donation(db.session, appeal)
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()
    thanks = client.get(f"/give/{gift.public_id}/thanks")
    modes = re.findall(rb'<input[^>]*name="mode"[^>]*>', thanks.data)
    assert len(modes) == 2 and not any(b"checked" in m for m in modes)
    before = db.session.scalar(select(func.count()).select_from(Payment))
    for missing in ({}, {"mode": ""}, {"mode": "both"}):
        refused = client.post(f"/give/{gift.public_id}/pledge", data={
            "csrf_token": csrf_of(thanks.data), "amount": "50", "display_name": "Dana",
            "agree": "y", **missing})
        page = refused.data.decode()
        assert refused.status_code == 422, missing
        # beside the field, and in the summary linking to it
        assert '<p class="field-error" id="mode-error">Please choose how you pay.</p>' in page
        assert '<a href="#mode">Please choose how you pay.</a>' in page
        assert 'aria-invalid="true" aria-describedby="mode-error"' in page \
            or 'aria-describedby="mode-error" aria-invalid="true"' in page
        assert 'value="50"' in page and 'value="Dana"' in page  # what was typed stays
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MatchPledge)) == 0
    assert db.session.scalar(select(func.count()).select_from(Payment)) == before


def test_a_gift_when_the_pool_is_used_up_is_told_before_and_after(donor, appeal, client, db):
    matching.create_pool(db.session, appeal_id=appeal.id, currency="USD", cap_minor=1000,
                         sponsor_name="Ruth")
    db.session.commit()
    page = client.get("/appeals/test-appeal").data.decode()
    assert "Ruth matches gifts 1:1" in page and 'id="match-preview"' in page
    first = donor.start(amount="25", email="one@example.org")
    assert "not in full" in client.get(f"/give/{first}").data.decode()
    donor.charge(first, support.card_token(donor.localstripe, VISA))
    assert "Your gift unlocked $10.00" in client.get(f"/give/{first}/thanks").data.decode()
    second = donor.start(amount="25", email="two@example.org")
    assert "All the matching money has been used" in client.get(f"/give/{second}").data.decode()
    donor.charge(second, support.card_token(donor.localstripe, VISA))
    assert "Your gift was not matched" in client.get(f"/give/{second}/thanks").data.decode()
    body = api(client)
    assert (body["raised_minor"], body["matched_minor"], body["total_minor"]) == \
        (5000, 1000, 6000)
    assert client.get("/appeals/test-appeal/match-preview?amount=abc").status_code == 400


def test_the_ledger_page_and_the_json_agree_with_the_database_after_a_rush(
        app, db, client, appeal):
    early = matching.create_pool(db.session, appeal_id=appeal.id, currency="USD",
                                 cap_minor=20_000, sponsor_name="Early Bird Co")
    late = matching.create_pool(db.session, appeal_id=appeal.id, currency="USD",
                                cap_minor=15_000, ratio=(1, 2), sponsor_name="Half Fund")
    amounts = [1_000 + 137 * i for i in range(40)]
    ids = [create_donation(db.session, appeal, amount_minor=a, email=f"r{i}@example.org")
           .payment_id for i, a in enumerate(amounts)]
    db.session.commit()
    early_id, late_id = early.id, late.id
    errors = in_threads(app, db, lambda pid: payments.transition_to(
        db.session, pid, states.SUCCEEDED), ids, timeout=60)
    assert errors == []
    # refunds in the middle of it
    for pid in ids[:5]:
        payments.apply_refund_total(db.session, pid, 500)
    payments.apply_refund_total(db.session, ids[5], 10_000)
    db.session.commit()

    # the sums, by hand, straight from the tables
    by_pool = dict(db.session.execute(text(
        "SELECT pool_id, SUM(amount_minor) FROM match_ledger WHERE pool_id IS NOT NULL "
        "GROUP BY pool_id")).all())
    caps = dict(db.session.execute(text("SELECT id, cap_minor FROM match_pools")).all())
    hand_total = sum(int(v) for v in by_pool.values())
    raised = int(db.session.execute(text(
        "SELECT SUM(p.amount_minor - p.refunded_minor) FROM payments p JOIN donations d "
        "ON d.payment_id = p.id WHERE p.status IN ('succeeded', 'partially_refunded')"))
        .scalar())
    assert int(by_pool[early_id]) == 20_000 - sum(
        -e.amount_minor for e in db.session.scalars(select(MatchEntry).where(
            MatchEntry.pool_id == early_id, MatchEntry.kind == "reversal")))

    body = api(client)
    assert body["matched_minor"] == hand_total
    assert body["raised_minor"] == raised and body["total_minor"] == raised + hand_total
    for pool_json in body["match_pools"]:
        allocated = int(by_pool.get(pool_json["id"], 0))
        assert pool_json["allocated_minor"] == allocated
        assert pool_json["remaining_minor"] == caps[pool_json["id"]] - allocated
        assert db.session.get(MatchPool, pool_json["id"]).remaining_minor == \
            pool_json["remaining_minor"]
    page = client.get("/appeals/test-appeal/matching").data.decode()
    from fundraiser.money import Money
    assert Money(hand_total, "USD").format("en") in page
    for pool_json in body["match_pools"]:
        row = re.search(rf'data-pool-id="{pool_json["id"]}">(.*?)</tr>', page, re.S).group(1)
        assert Money(pool_json["allocated_minor"], "USD").format("en") in row
        assert Money(pool_json["remaining_minor"], "USD").format("en") in row
    assert db.session.scalar(select(func.count()).select_from(MatchEntry)) >= 10
    assert late_id in [p["id"] for p in body["match_pools"]]


def test_a_declined_pledge_payment_can_be_retried_and_the_pledge_goes_live(
        donor, appeal, client, db):
    gift = donor.start(amount="25", name="Dana Levi", email="dana@example.org")
    donor.charge(gift, support.card_token(donor.localstripe, VISA))
    thanks = client.get(f"/give/{gift}/thanks")
    made = client.post(f"/give/{gift}/pledge", data={
        "csrf_token": csrf_of(thanks.data), "amount": "50", "display_name": "Dana",
        "mode": "pay_now", "agree": "y"})
    funding = made.headers["Location"].rsplit("/", 1)[1]
    declined = donor.charge(funding, support.card_token(donor.localstripe, "4000000000000002"))
    assert declined.get_json()["status"] == "failed"
    db.session.rollback()
    assert db.session.scalar(select(MatchPledge.status)) == "withdrawn"
    page = client.get(f"/give/{funding}/thanks")
    retry = client.post(f"/give/{funding}/retry", data={"csrf_token": csrf_of(page.data)})
    again = retry.headers["Location"].rsplit("/", 1)[1]
    assert "This is your pledge to match friends" in client.get(f"/give/{again}").data.decode()
    donor.charge(again, support.card_token(donor.localstripe, VISA))
    assert "Your pledge is live" in client.get(f"/give/{again}/thanks").data.decode()
    assert [p["pledged_minor"] for p in api(client)["pledges"]] == [5000]
