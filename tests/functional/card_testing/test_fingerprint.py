"""The card fingerprint the counters use: the same for every token of one
card, from Stripe (localstripe) itself, or a keyed hash when a processor
gives none."""

from fundraiser.payments.stripe_gateway import StripeGateway
from tests import support


def test_every_token_of_one_card_has_one_fingerprint(gateway, localstripe):
    first = gateway.card_fingerprint(support.card_token(localstripe, "4000000000000002"))
    second = gateway.card_fingerprint(support.card_token(localstripe, "4000000000000002"))
    other = gateway.card_fingerprint(support.card_token(localstripe, "4242424242424242"))
    assert first and first == second and other != first
    assert gateway.card_fingerprint("tok_doesnotexist") is None


def test_without_a_fingerprint_a_keyed_hash_of_brand_last4_and_expiry_stands_in():
    def gateway(key):
        return StripeGateway(secret_key="sk_test_x", publishable_key="pk_test_x",
                             webhook_secret="whsec_x", api_base="http://127.0.0.1:9",
                             fingerprint_key=key)

    card = {"brand": "Visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}
    one = gateway("k1")._fingerprint(card)
    assert one == gateway("k1")._fingerprint(dict(card))
    assert one != gateway("k1")._fingerprint({**card, "exp_year": 2035})
    assert one != gateway("k2")._fingerprint(card)          # keyed: not guessable
    assert "4242" not in one
    assert gateway("k1")._fingerprint({**card, "fingerprint": "fp_1"}) == "fp_1"
    assert gateway("k1")._fingerprint({"brand": "Visa"}) is None
