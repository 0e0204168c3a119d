"""What a receipt may say of a donor's card ("Visa card ending 4242"), read
from Stripe's answers: the brand and the last four digits, checked, and
never more of the card."""

from __future__ import annotations

# Stripe names a card's network by a code on payment methods ("visa") and by
# a display name on cards ("Visa"); receipts use the display name.
BRAND_NAMES = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express",
               "discover": "Discover", "diners": "Diners Club", "jcb": "JCB",
               "unionpay": "UnionPay", "cartes_bancaires": "Cartes Bancaires"}


def card_shown(customer) -> dict:
    """The brand and last four digits of the customer's card, as a receipt
    may show them (card_brand, card_last4), or {} when the answer has no
    card of a readable shape: a receipt then says "Card"."""
    data = customer.to_dict() if hasattr(customer, "to_dict") else customer
    cards = ((data or {}).get("sources") or {}).get("data") or []
    card = next((c for c in cards if isinstance(c, dict)
                 and c.get("id") == data.get("default_source")), cards[0] if cards else None)
    return card_facts(card)


def card_facts(card) -> dict:
    """card_brand and card_last4 of a card (a customer's source, or a payment
    method's `card`), checked: exactly four ASCII digits, a printable brand
    of at most 24 characters (else none); {} without a readable last four."""
    if not isinstance(card, dict):
        return {}
    brand, last4 = card.get("brand"), card.get("last4")
    if not (isinstance(last4, str) and len(last4) == 4 and last4.isascii()
            and last4.isdigit()):
        return {}
    brand = brand.strip()[:24] if isinstance(brand, str) and brand.strip().isprintable() \
        else None
    return {"card_brand": BRAND_NAMES.get((brand or "").lower(), brand) or None,
            "card_last4": last4}
