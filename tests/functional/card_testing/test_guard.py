"""Card testing, through the real pages and a real localstripe: counters per
address, email and card, a short wait and then an hour's block, a readable
answer with Retry-After; /retry counted too; the honeypot and the minimum."""

import re

import pytest
from sqlalchemy import func, select

from fundraiser.payments import states
from fundraiser.payments.models import Payment
from tests.functional.card_testing.conftest import (
    DECLINED,
    DECLINED_TOO,
    VISA,
    Visitor,
    csrf,
    donation_count,
)

WAIT = 31  # past the 30-second slow-down


# localstripe has only two declining cards; a tester has thousands. The card
# counter (tested below) is relaxed here so only the address is counted.
@pytest.mark.parametrize("guard_config", [{"CARD_GUARD_CARD": "1000,2000"}])
def test_one_address_is_blocked_after_nine_declines_and_another_still_gives(
        app, db, appeal, localstripe, clock):
    attacker = Visitor(app, localstripe, "203.0.113.7")
    declines = 0
    for n in range(1, 30):
        # a new email each time, as a card tester rotates them; and patient:
        # each slow-down is waited out
        started = attacker.start(email=f"tester{n}@example.org")
        if started.status_code == 429:
            break
        clock.advance(WAIT)
        charged = attacker.charge(started.headers["Location"].rsplit("/", 1)[1],
                                  DECLINED if n % 2 else DECLINED_TOO)
        assert charged.status_code == 200 and charged.get_json()["status"] == "failed", \
            charged.get_json()
        declines += 1
        clock.advance(WAIT)
    assert declines == 9
    page = started.data.decode()
    assert started.headers["Retry-After"] == str(3600 - WAIT)  # blocked one wait ago
    assert "card payments from here are paused after too many attempts" in page
    assert "Please try again in 60 minutes" in page
    # an hour later the address may try again
    clock.advance(3601)
    assert attacker.start(email="later@example.org").status_code == 303
    # a donor at another address was never affected
    honest = Visitor(app, localstripe, "198.51.100.20")
    started, charged = honest.give(VISA, email="honest@example.org")
    assert charged.get_json()["status"] == "succeeded"


@pytest.mark.parametrize("guard_config", [{"CARD_GUARD_IP": "1000,2000"}])
def test_the_same_card_from_a_second_address_is_blocked(app, db, appeal, localstripe, clock):
    first = Visitor(app, localstripe, "203.0.113.7")
    _, charged = first.give(DECLINED, email="a@example.org")
    assert charged.get_json()["status"] == "failed"
    # at once again with the same card: asked to wait, nothing sent to Stripe
    _, charged = first.give(DECLINED, email="b@example.org")
    assert charged.status_code == 429 and charged.get_json()["status"] == "slow"
    assert charged.headers["Retry-After"] == "30"
    assert "Please wait 30 seconds" in charged.get_json()["message"]
    clock.advance(WAIT)
    _, charged = first.give(DECLINED, email="c@example.org")
    assert charged.get_json()["status"] == "failed"   # second decline: the card is blocked
    intents_before = db.session.scalar(select(func.count(Payment.intent_id)))
    second = Visitor(app, localstripe, "198.51.100.20")
    _, charged = second.give(DECLINED, email="d@example.org")
    assert charged.status_code == 429 and charged.get_json()["status"] == "blocked"
    assert "Please try again in 60 minutes" in charged.get_json()["message"]
    db.session.rollback()
    # the refused gift was never sent: still `created`, no PaymentIntent
    assert db.session.scalar(select(func.count(Payment.intent_id))) == intents_before
    assert db.session.scalars(select(Payment.status).order_by(Payment.id.desc())).first() \
        == states.CREATED
    # the same address with another card gives
    _, charged = second.give(VISA, email="d@example.org")
    assert charged.get_json()["status"] == "succeeded"


@pytest.mark.parametrize("guard_config", [{"CARD_GUARD_CARD": "1000,2000"}])
def test_the_same_email_is_blocked_from_any_address(app, db, appeal, localstripe, clock):
    for ip in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        visitor = Visitor(app, localstripe, ip)
        started = visitor.start(email="Same@Example.org")
        clock.advance(WAIT)
        charged = visitor.charge(started.headers["Location"].rsplit("/", 1)[1], DECLINED)
        assert charged.get_json()["status"] == "failed"
        clock.advance(WAIT)
    before = donation_count(db)
    started = Visitor(app, localstripe, "203.0.113.4").start(email="same@EXAMPLE.org")
    assert started.status_code == 429
    assert "card payments from here are paused" in started.data.decode()
    assert donation_count(db) == before
    # another email at that address is fine
    assert Visitor(app, localstripe, "203.0.113.4").start(
        email="other@example.org").status_code == 303


def test_retry_is_counted_and_refused_when_over(app, db, appeal, localstripe, clock):
    donor = Visitor(app, localstripe, "203.0.113.9")
    started, charged = donor.give(DECLINED)
    assert charged.get_json()["status"] == "failed"
    gift = started.headers["Location"].rsplit("/", 1)[1]
    answers = []
    for _ in range(10):
        token = csrf(donor.client.get(f"/give/{gift}/thanks").data)
        answers.append(donor.client.post(f"/give/{gift}/retry", data={"csrf_token": token}))
    codes = [a.status_code for a in answers]
    # the email's score: gift 1 + card 1 + decline 5 = 7; each retry 1 more;
    # from 14 each attempt waits 30 seconds
    assert codes == [303] * 7 + [429] * 3
    assert answers[-1].headers["Retry-After"] == "30"
    assert "Please wait 30 seconds" in answers[-1].data.decode()
    db.session.rollback()
    assert donation_count(db) == 1 + 7


def test_a_filled_honeypot_is_refused_quietly_without_stripe(app, db, appeal, localstripe):
    donor = Visitor(app, localstripe, "203.0.113.10")
    page = donor.client.get("/appeals/test-appeal").data.decode()
    # hidden from people and screen readers, out of the tab order, and says so
    assert '<div class="hp-field" aria-hidden="true">' in page
    assert 'tabindex="-1"' in page and "Leave this field empty" in page
    answer = donor.start(leave_empty="http://cheap-pills.example")
    assert answer.status_code == 422
    assert "We could not start this gift" in answer.data.decode()
    assert donation_count(db) == 0
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    # an honest donor leaves it empty and gives
    started, charged = donor.give(VISA)
    assert charged.get_json()["status"] == "succeeded"


@pytest.mark.parametrize("guard_config", [{"DONATION_MIN_MAJOR": 5}])
def test_the_minimum_gift_is_configurable(app, db, appeal, localstripe):
    donor = Visitor(app, localstripe, "203.0.113.11")
    answer = donor.start(amount="other", other_amount="1")
    assert answer.status_code == 422
    assert "The smallest gift we can take is $5.00" in answer.data.decode()
    assert donation_count(db) == 0
    assert donor.start(amount="other", other_amount="5").status_code == 303


@pytest.mark.parametrize("guard_config", [{"CARD_GUARD_EMAIL": "4,4"}])
def test_pledges_are_counted_and_refused_when_over(app, db, appeal, localstripe):
    donor = Visitor(app, localstripe, "203.0.113.12")
    started, charged = donor.give(VISA)                      # email: 1 + 1
    assert charged.get_json()["status"] == "succeeded"
    gift = started.headers["Location"].rsplit("/", 1)[1]

    def pledge(mode):
        token = csrf(donor.client.get(f"/give/{gift}/thanks").data)
        return donor.client.post(f"/give/{gift}/pledge", data={
            "csrf_token": token, "amount": "50", "display_name": "Dana", "mode": mode,
            "agree": "y"})

    assert pledge("pay_now").status_code == 303               # 3
    assert pledge("card_saved").status_code == 303            # 4: blocked from now on
    refused = pledge("card_saved")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "3600"
    assert "card payments from here are paused" in refused.data.decode()


@pytest.mark.parametrize("guard_config", [{"CARD_GUARD_CARD": "6,6"}])
def test_the_refusal_is_in_the_donors_language(app, db, appeal, localstripe):
    _, charged = Visitor(app, localstripe, "203.0.113.13").give(DECLINED)
    assert charged.get_json()["status"] == "failed"
    hebrew = Visitor(app, localstripe, "203.0.113.14")
    hebrew.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "he"
    _, charged = hebrew.give(DECLINED, email="noa@example.org")
    assert charged.status_code == 429
    assert "למען ביטחונכם, תשלומים בכרטיס מכאן מושהים" in charged.get_json()["message"]
    assert "בעוד 60 דקות" in charged.get_json()["message"]


@pytest.mark.parametrize("guard_config", [{"CARD_GUARD_EMAIL": "4,4"}])
def test_saving_a_card_for_a_pledge_is_counted(app, db, appeal, localstripe):
    from tests.functional.test_matching_card_pledge import confirm_card_setup

    donor = Visitor(app, localstripe, "203.0.113.15")
    started, charged = donor.give(VISA)                      # email: 1 + 1
    gift = started.headers["Location"].rsplit("/", 1)[1]

    def pledge():
        token = csrf(donor.client.get(f"/give/{gift}/thanks").data)
        return donor.client.post(f"/give/{gift}/pledge", data={
            "csrf_token": token, "amount": "40", "display_name": "Dana",
            "mode": "card_saved", "agree": "y"})

    made = pledge()                                          # 3
    assert made.status_code == 303
    card_page = donor.client.get(made.headers["Location"])
    secret = re.search(r'data-client-secret="([^"]+)"', card_page.data.decode()).group(1)
    assert confirm_card_setup(localstripe, secret, VISA)["status"] == "succeeded"
    code = made.headers["Location"].split("/match/")[1].split("/")[0]
    confirmed = donor.client.post(f"/match/{code}/card/confirm", json={},
                                  headers={"X-CSRFToken": csrf(card_page.data)})
    assert confirmed.get_json()["status"] == "active"       # 4: saved, and now blocked
    again = donor.client.post(f"/match/{code}/card/confirm", json={},
                              headers={"X-CSRFToken": csrf(card_page.data)})
    assert again.status_code == 429 and again.get_json()["status"] == "blocked"
    assert pledge().status_code == 429
