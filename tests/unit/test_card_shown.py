"""What a receipt may say of the card ("Visa card ending 4242") is read from
the gateway's customer: the default card's brand and last four digits, and
nothing from an answer of another shape."""

import pytest

from fundraiser.payments.stripe_cards import card_facts, card_shown


def customer(*cards, default="card_2"):
    return {"id": "cus_1", "default_source": default, "sources": {"data": list(cards)}}


def card(id_, brand="Visa", last4="4242"):
    return {"id": id_, "object": "card", "brand": brand, "last4": last4}


def test_the_default_card_is_shown_by_brand_and_last_four():
    assert card_shown(customer(card("card_1", "Visa", "1111"),
                               card("card_2", "MasterCard", "4444"))) == {
        "card_brand": "Mastercard", "card_last4": "4444"}


def test_without_a_default_the_first_card_is_shown():
    assert card_shown(customer(card("card_9", "Visa", "4242"), default=None)) == {
        "card_brand": "Visa", "card_last4": "4242"}


@pytest.mark.parametrize("answer", [
    {}, None, {"sources": None}, {"sources": {"data": []}}, {"sources": {"data": ["card_1"]}},
    customer(card("card_2", last4="42")), customer(card("card_2", last4="４２４２")),
    customer(card("card_2", last4=4242)), customer(card("card_2", last4="4242424242424242")),
])
def test_an_answer_without_a_readable_card_shows_nothing(answer):
    assert card_shown(answer) == {}


@pytest.mark.parametrize("brand", [None, "", "  ", "Visa\n<script>", 7])
def test_an_unreadable_brand_leaves_the_last_four_alone(brand):
    assert card_shown(customer(card("card_2", brand=brand))) == {
        "card_brand": None, "card_last4": "4242"}


def test_a_long_brand_is_cut():
    assert card_shown(customer(card("card_2", brand="B" * 100)))["card_brand"] == "B" * 24


@pytest.mark.parametrize("code, shown", [
    ("visa", "Visa"), ("amex", "American Express"), ("mastercard", "Mastercard"),
    ("Visa", "Visa"), ("some_new_network", "some_new_network")])
def test_a_payment_method_s_brand_code_is_shown_by_its_name(code, shown):
    assert card_facts({"brand": code, "last4": "0005", "exp_month": 12}) == {
        "card_brand": shown, "card_last4": "0005"}
