"""The Stripe gateway, through the official SDK. The same code talks to
localstripe (STRIPE_API_BASE set) and to real Stripe test mode (unset)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import replace

import stripe

from . import states
from .gateway import (
    CardDeclined,
    CardSetup,
    GatewayError,
    GatewayEvent,
    IntentResult,
    InvalidWebhook,
    MalformedEvent,
    OutcomeUnknown,
    RefundResult,
    SubscriptionStart,
)
from .stripe_cards import card_shown
from .stripe_recurring import RecurringChanges

log = logging.getLogger(__name__)

_STATUS = {
    "succeeded": states.SUCCEEDED,
    "processing": states.PROCESSING,
    "requires_action": states.REQUIRES_ACTION,
    "requires_confirmation": states.PROCESSING,
    "requires_capture": states.PROCESSING,
    # We always create with confirm=True, so an intent waiting for a payment
    # method has had one and it failed (declined, or 3-D Secure refused).
    "requires_payment_method": states.FAILED,
    "canceled": states.CANCELED,
}


class LiveKeyRefused(RuntimeError):
    pass


def check_keys(secret_key: str, allow_live: bool) -> None:
    if secret_key.startswith(("sk_live_", "rk_live_")) and not allow_live:
        raise LiveKeyRefused(
            "A live Stripe key was given. Fundraiser refuses live keys unless "
            "STRIPE_ALLOW_LIVE=1 is set."
        )


class StripeGateway(RecurringChanges):
    def __init__(self, *, secret_key, publishable_key, webhook_secret, api_base="",
                 allow_live=False, tolerance=300, timeout=20, fingerprint_key=""):
        check_keys(secret_key, allow_live)
        self.fingerprint_key = (fingerprint_key or secret_key).encode()
        self.local = bool(api_base)
        self.api_base = api_base.rstrip("/")
        self.publishable_key = publishable_key
        self.webhook_secret = webhook_secret
        self.tolerance = tolerance
        kwargs = {"max_network_retries": 2, "http_client": stripe.RequestsClient(timeout=timeout)}
        if self.local:
            kwargs["base_addresses"] = {"api": self.api_base}
        self.client = stripe.StripeClient(secret_key, **kwargs)

    @property
    def js_url(self) -> str:
        # localstripe serves a fake Stripe.js; real Stripe.js must come from Stripe.
        return f"{self.api_base}/js.stripe.com/v3/" if self.local else "https://js.stripe.com/v3/"

    @property
    def js_origin(self) -> str:
        return self.api_base if self.local else "https://js.stripe.com"

    # -- calls ---------------------------------------------------------------

    def charge_card(self, *, reference, attempt, amount_minor, currency, token, email,
                    name, description) -> IntentResult:
        key = f"fundraiser-{reference}-{attempt}"
        metadata = {"fundraiser_ref": reference}
        try:
            customer = self._new_customer(token, email, name, metadata, key)
            params = {
                "amount": amount_minor,
                "currency": currency.lower(),
                "customer": customer.id,
                "payment_method": customer.default_source,
                "payment_method_types": ["card"],
                "confirm": True,
                "metadata": metadata,
            }
            if not self.local:
                # localstripe answers 400 to fields it does not know.
                params["description"] = description[:1000]
            intent = self._create_intent_once(params, key + "-intent", reference, customer.id)
        except stripe.CardError as exc:
            raise CardDeclined(exc.code, exc.user_message) from exc
        except stripe.StripeError as exc:
            log.warning("stripe error charging payment %s: %s", reference, exc)
            raise GatewayError(str(exc)) from exc
        return self._charged(intent, customer)

    def _charged(self, intent, customer) -> IntentResult:
        """The answer for an intent charged to the customer just made with
        the donor's card: its result, with the card as receipts name it."""
        return replace(self._result(intent, customer_id=customer.id), **card_shown(customer))

    def _new_customer(self, token, email, name, metadata, key):
        params = {"source": token, "email": email, "name": name[:200], "metadata": metadata}
        if not self.local:  # Stripe lists a customer's cards only when asked
            params["expand"] = ["sources"]
        return self.client.v1.customers.create(
            params=params, options={"idempotency_key": key + "-customer"})

    def _create_intent_once(self, params, key, reference, customer_id):
        """Create the PaymentIntent; when the answer is lost on the way (a
        timeout, a dropped connection), look for it by our reference before
        asking again with the same idempotency key. Real Stripe would answer
        a replayed key with the same intent, but a server that ignores keys
        (localstripe) would charge twice, and Stripe forgets keys after a day."""
        options = {"idempotency_key": key, "max_network_retries": 0}
        try:
            return self.client.v1.payment_intents.create(params=params, options=options)
        except stripe.APIConnectionError as exc:
            log.warning("payment %s: no answer to the intent create (%s); looking for it",
                        reference, exc)
        found = self._intent_by_reference(reference, customer_id)
        if found is not None:
            return found
        return self.client.v1.payment_intents.create(params=params, options=options)

    def _intent_by_reference(self, reference, customer_id):
        # The customer is new for this attempt, so its intents are few; localstripe
        # cannot filter a list by customer, so it is read whole.
        params = {"limit": 100} if self.local else {"limit": 100, "customer": customer_id}
        for pi in self.client.v1.payment_intents.list(params=params).auto_paging_iter():
            if (pi.to_dict().get("metadata") or {}).get("fundraiser_ref") == reference:
                return pi
        return None

    def card_fingerprint(self, token: str) -> str | None:
        """The same string for every token of one card (for counting card
        testing), or None when the token is unknown. Stripe's (and
        localstripe's) card.fingerprint; else a keyed hash of what identifies
        the card without its number: brand, last 4 digits and expiry."""
        try:
            card = self.client.v1.tokens.retrieve(token).card
        except stripe.InvalidRequestError:
            return None
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return self._fingerprint(card.to_dict() if hasattr(card, "to_dict") else card)

    def _fingerprint(self, card) -> str | None:
        if not isinstance(card, dict):
            return None
        if card.get("fingerprint"):
            return str(card["fingerprint"])[:64]
        parts = [str(card.get(k) or "") for k in ("brand", "last4", "exp_month", "exp_year")]
        if not parts[1]:
            return None
        return "h_" + hmac.new(self.fingerprint_key, "|".join(parts).lower().encode(),
                               hashlib.sha256).hexdigest()[:32]

    # -- saved cards (friend-match pledges charged at the close) ---------------

    def start_card_setup(self, *, reference, email, name) -> CardSetup:
        """A customer and a SetupIntent for off-session use; the browser
        confirms it with stripe.confirmCardSetup(client_secret, …)."""
        key = f"fundraiser-setup-{reference}"
        metadata = {"fundraiser_ref": reference}
        try:
            customer = self.client.v1.customers.create(
                params={"email": email, "name": name[:200], "metadata": metadata},
                options={"idempotency_key": key + "-customer"})
            setup = self.client.v1.setup_intents.create(
                params={"customer": customer.id, "usage": "off_session",
                        "payment_method_types": ["card"], "metadata": metadata},
                options={"idempotency_key": key + "-intent"})
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return CardSetup(setup.id, setup.status, customer.id, setup.client_secret,
                         setup.payment_method)

    def finish_card_setup(self, setup_id) -> CardSetup:
        """Ask Stripe whether the card was saved, and attach it to the customer
        (Stripe does that itself; localstripe does not)."""
        fingerprint = None
        try:
            setup = self.client.v1.setup_intents.retrieve(setup_id)
            if setup.payment_method:
                pm = self.client.v1.payment_methods.retrieve(setup.payment_method)
                card = pm.to_dict().get("card")
                fingerprint = self._fingerprint(card)
                if setup.status == "succeeded" and not pm.customer:
                    self.client.v1.payment_methods.attach(
                        setup.payment_method, params={"customer": setup.customer})
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return CardSetup(setup.id, setup.status, setup.customer, None, setup.payment_method,
                         card_fingerprint=fingerprint)

    def charge_saved_card(self, *, reference, attempt, amount_minor, currency, customer_id,
                          payment_method_id) -> IntentResult:
        key = f"fundraiser-{reference}-{attempt}"
        try:
            intent = self.client.v1.payment_intents.create(
                params={"amount": amount_minor, "currency": currency.lower(),
                        "customer": customer_id, "payment_method": payment_method_id,
                        "payment_method_types": ["card"], "off_session": True,
                        "confirm": True, "metadata": {"fundraiser_ref": reference}},
                options={"idempotency_key": key + "-intent"})
        except stripe.CardError as exc:
            waiting = _waiting_for_authentication(exc)
            if waiting is not None:
                return waiting
            raise CardDeclined(exc.code, exc.user_message) from exc
        except stripe.StripeError as exc:
            log.warning("stripe error charging saved card for %s: %s", reference, exc)
            raise GatewayError(str(exc)) from exc
        return self._result(intent, customer_id=customer_id)

    def resume_authentication(self, *, intent_id, payment_method_id) -> IntentResult:
        """Make an off-session charge that needs the card holder's bank ready
        for them to confirm, on-session (stripe.confirmCardPayment with the
        client secret). After a failed attempt the intent has lost its
        payment method (`requires_payment_method`): it is set again and the
        intent confirmed, which asks for authentication anew. localstripe
        cannot confirm with a payment method in one call, hence the update."""
        try:
            intent = self.client.v1.payment_intents.retrieve(intent_id)
            if intent.status == "requires_payment_method" and payment_method_id:
                self.client.v1.payment_intents.update(
                    intent_id, params={"payment_method": payment_method_id})
                intent = self.client.v1.payment_intents.confirm(intent_id)
        except stripe.CardError as exc:
            raise CardDeclined(exc.code, exc.user_message) from exc
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return self._result(intent)

    # -- monthly gifts (Products, Plans, Subscriptions: localstripe has no Prices) --

    def start_subscription(self, *, reference, amount_minor, currency, token, email, name,
                           description, interval="month") -> SubscriptionStart:
        """A customer with the card, a plan of `amount_minor` a month (or a
        year) and a subscription to it. Stripe invoices and charges the first
        period at once; its PaymentIntent may want 3-D Secure like a one-time
        gift's."""
        key = f"fundraiser-sub-{reference}"
        metadata = {"fundraiser_ref": reference}
        try:
            customer = self._new_customer(token, email, name, metadata, key)
            product = self.client.v1.products.create(
                params={"name": description[:200] or "Recurring gift", "metadata": metadata},
                options={"idempotency_key": key + "-product"})
            plan = self.client.v1.plans.create(
                params={"amount": amount_minor, "currency": currency.lower(),
                        "interval": interval, "product": product.id, "metadata": metadata},
                options={"idempotency_key": key + "-plan"})
            sub = self.client.v1.subscriptions.create(
                params={"customer": customer.id, "items": [{"plan": plan.id}],
                        "metadata": metadata},
                options={"idempotency_key": key + "-subscription"})
            intent = None
            invoice_id = sub.latest_invoice
            if invoice_id and not isinstance(invoice_id, str):
                invoice_id = invoice_id.id
            if invoice_id:
                invoice = self.client.v1.invoices.retrieve(invoice_id).to_dict()
                pi = invoice.get("payment_intent") or self._invoice_intent(invoice_id)
                if isinstance(pi, dict):
                    pi = pi.get("id")
                if isinstance(pi, str) and pi:
                    intent = self._charged(self.client.v1.payment_intents.retrieve(pi),
                                           customer)
        except stripe.CardError as exc:
            raise CardDeclined(exc.code, exc.user_message) from exc
        except stripe.StripeError as exc:
            log.warning("stripe error starting subscription %s: %s", reference, exc)
            raise GatewayError(str(exc)) from exc
        return SubscriptionStart(sub.id, customer.id, str(sub.status), intent)

    def _invoice_intent(self, invoice_id: str) -> str | None:
        """Real Stripe's newer API versions keep an invoice's PaymentIntent in
        its payments, not on the invoice (localstripe keeps it on the invoice)."""
        if self.local:
            return None
        page = self.client.v1.invoice_payments.list(params={"invoice": invoice_id, "limit": 10})
        for row in page.data:
            payment = (row.to_dict().get("payment") or {})
            if isinstance(payment.get("payment_intent"), str | dict):
                return payment["payment_intent"]
        return None

    def cancel_subscription(self, subscription_id: str) -> str:
        """Cancel now; returns the gateway's status (`canceled`)."""
        try:
            sub = self.client.v1.subscriptions.cancel(subscription_id)
        except stripe.InvalidRequestError as exc:
            if getattr(exc, "http_status", None) == 404:
                return "canceled"  # gone at the gateway already
            # Ended already (a paused gift whose period ran out): nothing to stop.
            if self.subscription_ended(subscription_id):
                return "canceled"
            raise GatewayError(str(exc)) from exc
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return str(sub.status)

    def retrieve(self, intent_id: str) -> IntentResult:
        try:
            return self._result(self.client.v1.payment_intents.retrieve(intent_id))
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def cancel_intent(self, intent_id: str) -> IntentResult:
        """Give up a PaymentIntent that waits (for the customer's bank); its
        state afterwards. One Stripe will not cancel (it succeeded meanwhile,
        or was canceled already) is reported as it stands."""
        try:
            return self._result(self.client.v1.payment_intents.cancel(intent_id))
        except stripe.InvalidRequestError:
            return self.retrieve(intent_id)
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def recent_intents(self, since_epoch: int) -> list[IntentResult]:
        try:
            params = {"limit": 100}
            if not self.local:  # localstripe refuses the `created` filter
                params["created"] = {"gte": since_epoch}
            page = self.client.v1.payment_intents.list(params=params)
            return [self._result(pi) for pi in page.auto_paging_iter()
                    if int(pi["created"]) >= since_epoch]
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def refund(self, *, intent_id, amount_minor, key) -> RefundResult:
        try:
            refund = self.client.v1.refunds.create(
                # The key goes into the metadata too: reconcile finds the refund
                # by it when our process died before recording the answer.
                params={"payment_intent": intent_id, "amount": amount_minor,
                        "metadata": {"fundraiser_refund": key}},
                options={"idempotency_key": key},
            )
        except (stripe.APIConnectionError, stripe.APIError) as exc:
            raise OutcomeUnknown(str(exc)) from exc
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return self._refund(refund)

    def refunds_for(self, intent_id: str) -> list[RefundResult]:
        """Every refund the gateway holds for this PaymentIntent. (Not a replay
        of the create with its idempotency key: localstripe ignores keys and
        would refund again, and Stripe forgets them after 24 hours.)"""
        try:
            page = self.client.v1.refunds.list(
                params={"payment_intent": intent_id, "limit": 100})
            return [self._refund(r) for r in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def parse_webhook(self, payload: bytes, signature: str | None) -> GatewayEvent:
        if not signature:
            raise InvalidWebhook("missing Stripe-Signature header")
        try:
            text = payload.decode("utf-8")
            # Signature and timestamp first; only an authentic body is parsed.
            stripe.WebhookSignature.verify_header(text, signature, self.webhook_secret,
                                                  self.tolerance)
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError, stripe.SignatureVerificationError) as exc:
            raise InvalidWebhook(str(exc)) from exc
        if not isinstance(data, dict):
            raise InvalidWebhook("event is not an object")
        obj = (data.get("data") or {}).get("object") if isinstance(data.get("data"), dict) else None
        if not isinstance(obj, dict) or not isinstance(data.get("id"), str) \
                or not isinstance(data.get("type"), str):
            raise InvalidWebhook("event without id, type or object")
        created = data.get("created") or 0
        if not is_count(created):
            raise InvalidWebhook("event with an unreadable creation time")
        return GatewayEvent(id=data["id"][:255], type=data["type"][:64],
                            created=created, object=obj, raw=text)

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _refund(refund) -> RefundResult:
        if hasattr(refund, "to_dict"):
            refund = refund.to_dict()
        key = (refund.get("metadata") or {}).get("fundraiser_refund")
        return RefundResult(refund["id"], int(refund["amount"]), str(refund.get("status") or ""),
                            key if isinstance(key, str) else None)

    @staticmethod
    def _result(pi, customer_id=None) -> IntentResult:
        if hasattr(pi, "to_dict"):  # a StripeObject has no .get() in stripe 16
            pi = pi.to_dict()
        err = pi.get("last_payment_error") or None
        meta = pi.get("metadata") or {}
        reference = meta.get("fundraiser_ref")
        return IntentResult(
            intent_id=pi["id"],
            status=_STATUS.get(pi["status"], states.PROCESSING),
            amount_minor=int(pi["amount"]),
            currency=str(pi["currency"]).upper(),
            reference=reference if isinstance(reference, str) else None,
            client_secret=pi.get("client_secret"),
            customer_id=customer_id or pi.get("customer"),
            failure_code=(err or {}).get("code") if err else None,
            failure_message=(err or {}).get("message") if err else None,
        )


def _waiting_for_authentication(exc) -> IntentResult | None:
    """Real Stripe answers an off-session charge the bank wants confirmed
    with a card error `authentication_required` carrying the intent (left in
    `requires_payment_method`); localstripe answers `requires_action`. Both
    mean the same to us: the charge waits for the card holder."""
    error = getattr(exc, "error", None)
    intent = getattr(error, "payment_intent", None) if error is not None else None
    if exc.code != "authentication_required" or not intent:
        return None
    return replace(StripeGateway._result(intent), status=states.REQUIRES_ACTION,
                   failure_code=None, failure_message=None)


def intent_from_event_object(obj: dict) -> IntentResult:
    """A PaymentIntent as carried inside a signed event. The signature says
    who sent it, not that it is whole: a missing or mistyped field raises
    MalformedEvent instead of a KeyError half-way through applying it."""
    err = obj.get("last_payment_error") or {}
    if not (isinstance(obj.get("id"), str) and obj["id"]
            and isinstance(obj.get("status"), str)
            and is_count(obj.get("amount"))
            and isinstance(obj.get("currency"), str)
            and isinstance(obj.get("metadata") or {}, dict)
            and isinstance(err, dict)
            and all(isinstance(err.get(k), str | None) for k in ("code", "message"))):
        raise MalformedEvent("payment_intent without a usable id, status, amount, "
                             "currency, metadata or error")
    return StripeGateway._result(obj)


def is_count(value) -> bool:
    """A whole, non-negative number of minor units (JSON's true is not 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
