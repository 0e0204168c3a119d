"""Real Stripe answers an off-session charge that the bank wants confirmed
with a card error (`authentication_required`) carrying the PaymentIntent;
localstripe answers `requires_action`. Both must read as a charge waiting
for the card holder, never as a decline (which would withdraw a pledge)."""

import stripe

from fundraiser.payments import states
from fundraiser.payments.stripe_gateway import _waiting_for_authentication


def card_error(code, intent=None):
    error = {"code": code, "message": "m", "type": "card_error"}
    if intent is not None:
        error["payment_intent"] = intent
    return stripe.CardError("m", None, code, json_body={"error": error})


def test_authentication_required_is_a_charge_waiting_for_the_card_holder():
    intent = {"id": "pi_123", "object": "payment_intent", "status": "requires_payment_method",
              "amount": 3000, "currency": "usd", "client_secret": "pi_123_secret_x",
              "customer": "cus_1", "metadata": {"fundraiser_ref": "abc"},
              "last_payment_error": {"code": "authentication_required", "message": "m"}}
    result = _waiting_for_authentication(card_error("authentication_required", intent))
    assert (result.intent_id, result.status, result.amount_minor, result.currency,
            result.reference, result.client_secret, result.failure_code) == \
        ("pi_123", states.REQUIRES_ACTION, 3000, "USD", "abc", "pi_123_secret_x", None)


def test_a_decline_is_still_a_decline():
    assert _waiting_for_authentication(card_error("card_declined")) is None
    assert _waiting_for_authentication(card_error("authentication_required")) is None
