"""What the app needs from a payment processor. Only stripe_gateway.py
imports `stripe`; a test may hand services a fake that follows this shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class IntentResult:
    intent_id: str
    status: str                    # our vocabulary, see states.py
    amount_minor: int
    currency: str
    reference: str | None = None   # our Payment.reference, from the intent's metadata
    client_secret: str | None = None
    customer_id: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    card_brand: str | None = None  # for the receipt: "Visa card ending 4242"
    card_last4: str | None = None


@dataclass(frozen=True)
class GatewayEvent:
    id: str
    type: str
    created: int
    object: dict[str, Any] = field(default_factory=dict)
    raw: str = ""


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    amount_minor: int
    status: str                    # the gateway's: succeeded | pending | failed | canceled …
    key: str | None = None         # our idempotency key, kept in the refund's metadata


@dataclass(frozen=True)
class CardSetup:
    """A card being saved for a later off-session charge (a SetupIntent)."""

    setup_id: str
    status: str                    # requires_payment_method | requires_action | succeeded | …
    customer_id: str
    client_secret: str | None = None
    payment_method_id: str | None = None
    card_fingerprint: str | None = None  # see StripeGateway.card_fingerprint
    card_last4: str | None = None        # for "your card ending 4242"
    card_brand: str | None = None


@dataclass(frozen=True)
class SubscriptionStart:
    """A monthly gift set up at the gateway, and its first invoice's intent
    (None when the gateway made none, e.g. a zero invoice)."""

    subscription_id: str
    customer_id: str
    status: str                    # the gateway's: incomplete | active | …
    first_intent: IntentResult | None = None


class GatewayError(Exception):
    """The processor could not be reached or answered with an error we can
    retry. `user_message` is safe to show a donor."""

    user_message = "The payment service did not answer. Nothing was charged; please try again."


class OutcomeUnknown(GatewayError):
    """The request may have reached the processor, but its answer did not reach
    us (a dropped connection, a timeout, a server error): what happened is
    unknown until we ask again. Nothing may be retried as if it had failed."""


class CardDeclined(GatewayError):
    def __init__(self, code: str | None, user_message: str | None):
        super().__init__(code or "card_declined")
        self.code = code or "card_declined"
        self.user_message = user_message or "Your card was declined."


class InvalidWebhook(Exception):
    """Bad signature, stale timestamp or unreadable payload."""


class MalformedEvent(ValueError):
    """An authentic (signed) event whose object lacks a field we need, or
    carries one of the wrong type: stored and acknowledged, never applied."""


class PaymentGateway(Protocol):
    publishable_key: str
    js_url: str

    def charge_card(
        self, *, reference: str, attempt: int, amount_minor: int, currency: str,
        token: str, email: str, name: str, description: str,
    ) -> IntentResult: ...

    def retrieve(self, intent_id: str) -> IntentResult: ...

    def cancel_intent(self, intent_id: str) -> IntentResult: ...

    def card_fingerprint(self, token: str) -> str | None: ...

    def start_card_setup(self, *, reference: str, email: str, name: str) -> CardSetup: ...

    def finish_card_setup(self, setup_id: str) -> CardSetup: ...

    def charge_saved_card(
        self, *, reference: str, attempt: int, amount_minor: int, currency: str,
        customer_id: str, payment_method_id: str,
    ) -> IntentResult: ...

    def resume_authentication(self, *, intent_id: str,
                              payment_method_id: str | None) -> IntentResult: ...

    def start_subscription(
        self, *, reference: str, amount_minor: int, currency: str, token: str,
        email: str, name: str, description: str, interval: str = "month",
    ) -> SubscriptionStart: ...

    def cancel_subscription(self, subscription_id: str) -> str: ...

    # A donor's changes to a running recurring gift (stripe_recurring.py).
    def change_subscription_amount(self, *, subscription_id: str, amount_minor: int,
                                   reference: str) -> None: ...

    def pause_subscription(self, subscription_id: str) -> None: ...

    def resume_subscription(self, *, subscription_id: str, reference: str,
                            attempt: str) -> SubscriptionStart: ...

    def latest_invoice(self, subscription_id: str) -> dict | None: ...

    def start_card_update(self, *, customer_id: str, reference: str) -> CardSetup: ...

    def finish_card_update(self, *, setup_id: str, customer_id: str) -> CardSetup: ...

    def recent_intents(self, since_epoch: int) -> list[IntentResult]: ...

    def refund(self, *, intent_id: str, amount_minor: int, key: str) -> RefundResult: ...

    def refunds_for(self, intent_id: str) -> list[RefundResult]: ...

    def parse_webhook(self, payload: bytes, signature: str | None) -> GatewayEvent: ...
