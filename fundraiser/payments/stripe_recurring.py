"""A donor's own changes to a running recurring gift, at Stripe: a new
amount, a pause and a resume, another card. Mixed into StripeGateway
(stripe_gateway.py), whose `client` and `local` it uses.

What localstripe 1.15.10 lacks, and what is done instead (the same calls
are right on real Stripe):

- `pause_collection` is not implemented (its Subscription update refuses
  unknown fields). A pause is `cancel_at_period_end=true`: the period paid
  for runs out and nothing more is charged. Resuming before the period ends
  clears the flag (nothing is charged until the next renewal date, as
  agreed); resuming after it ended starts a new subscription on the same
  plan and customer, which Stripe charges at once.
- `proration_behavior` is not accepted on update, and a plan change makes
  localstripe add an "Unused time" credit of the whole last invoice to the
  next one. Real Stripe is sent `proration_behavior=none` (a new amount
  applies from the next renewal; nothing is charged or credited now); on
  localstripe the credit it made is deleted, which leaves the same result.
- `default_payment_method` on a subscription is not implemented. Another
  card goes on the customer's `invoice_settings.default_payment_method`,
  which Stripe uses for the subscription's invoices when the subscription
  has no card of its own (ours never do), and which localstripe honours.
  A SetupIntent's card is not attached to its customer by localstripe, so
  it is attached here when it is not yet.
"""

from __future__ import annotations

import logging

import stripe

from .gateway import CardDeclined, CardSetup, GatewayError, SubscriptionStart
from .stripe_cards import card_facts

log = logging.getLogger(__name__)

_ENDED = ("canceled", "incomplete_expired")


def _id(value) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value.get("id")
    return getattr(value, "id", None)


class RecurringChanges:
    client: stripe.StripeClient
    local: bool

    def _subscription(self, subscription_id: str) -> dict:
        return self.client.v1.subscriptions.retrieve(subscription_id).to_dict()

    @staticmethod
    def _item(sub: dict) -> dict:
        items = (sub.get("items") or {}).get("data") or []
        if not items:
            raise GatewayError(f"subscription {sub.get('id')} has no item")
        return items[0]

    def subscription_amount(self, subscription_id: str) -> tuple[int, str]:
        """What Stripe will charge next: (amount in minor units, interval)."""
        try:
            plan = self._item(self._subscription(subscription_id))["plan"]
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return int(plan["amount"]), str(plan["interval"])

    def change_subscription_amount(self, *, subscription_id: str, amount_minor: int,
                                   reference: str) -> None:
        """Charge `amount_minor` from the next renewal on: a new plan with the
        same product, currency and interval, and the subscription moved to it
        without proration. Nothing happens when the plan already says so."""
        try:
            sub = self._subscription(subscription_id)
            item = self._item(sub)
            plan = item["plan"]
            if int(plan["amount"]) == amount_minor:
                return
            new_plan = self.client.v1.plans.create(
                params={"amount": amount_minor, "currency": plan["currency"],
                        "interval": plan["interval"], "product": _id(plan["product"]),
                        "metadata": {"fundraiser_ref": reference}},
                options={"idempotency_key":
                         f"fundraiser-sub-{reference}-plan-{amount_minor}"})
            params = {"items": [{"id": item["id"], "plan": new_plan.id}]}
            if not self.local:
                params["proration_behavior"] = "none"
            self.client.v1.subscriptions.update(subscription_id, params=params)
            if self.local:
                self._drop_local_prorations(sub["customer"], subscription_id)
        except stripe.StripeError as exc:
            log.warning("stripe error changing subscription %s: %s", subscription_id, exc)
            raise GatewayError(str(exc)) from exc

    def _drop_local_prorations(self, customer_id: str, subscription_id: str) -> None:
        pending = self.client.v1.invoice_items.list(params={"customer": customer_id})
        for item in pending.data:
            row = item.to_dict()
            if row.get("proration") and row.get("subscription") == subscription_id:
                self.client.v1.invoice_items.delete(row["id"])

    def subscription_ended(self, subscription_id: str) -> bool:
        try:
            return self._subscription(subscription_id).get("status") in _ENDED
        except stripe.StripeError:
            return False

    def pause_subscription(self, subscription_id: str) -> None:
        """Nothing more is charged once the period paid for ends."""
        try:
            sub = self._subscription(subscription_id)
            if sub.get("status") in _ENDED or sub.get("cancel_at_period_end"):
                return
            self.client.v1.subscriptions.update(
                subscription_id, params={"cancel_at_period_end": True})
        except stripe.StripeError as exc:
            log.warning("stripe error pausing subscription %s: %s", subscription_id, exc)
            raise GatewayError(str(exc)) from exc

    def resume_subscription(self, *, subscription_id: str, reference: str,
                            attempt: str) -> SubscriptionStart:
        """The subscription running again: the same one when its period has
        not ended (nothing charged now), else a new one on the same plan and
        customer, charged now (the caller records its first invoice, read
        with `latest_invoice`). `attempt` keeps one resume from making two."""
        try:
            sub = self._subscription(subscription_id)
            if sub.get("status") not in _ENDED:
                if sub.get("cancel_at_period_end"):
                    self.client.v1.subscriptions.update(
                        subscription_id, params={"cancel_at_period_end": False})
                return SubscriptionStart(subscription_id, sub["customer"], sub["status"])
            plan = self._item(sub)["plan"]
            again = self.client.v1.subscriptions.create(
                params={"customer": sub["customer"], "items": [{"plan": plan["id"]}],
                        "metadata": {"fundraiser_ref": reference}},
                options={"idempotency_key": f"fundraiser-sub-{reference}-resume-{attempt}"})
        except stripe.CardError as exc:
            raise CardDeclined(exc.code, exc.user_message) from exc
        except stripe.StripeError as exc:
            log.warning("stripe error resuming subscription %s: %s", subscription_id, exc)
            raise GatewayError(str(exc)) from exc
        return SubscriptionStart(again.id, sub["customer"], str(again.status))

    def latest_invoice(self, subscription_id: str) -> dict | None:
        """The subscription's latest invoice, as its webhook would carry it."""
        try:
            invoice_id = _id(self._subscription(subscription_id).get("latest_invoice"))
            if not invoice_id:
                return None
            return self.client.v1.invoices.retrieve(invoice_id).to_dict()
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def start_card_update(self, *, customer_id: str, reference: str) -> CardSetup:
        """A SetupIntent for the gift's own customer; the browser confirms it
        with stripe.confirmCardSetup(client_secret, …)."""
        try:
            setup = self.client.v1.setup_intents.create(
                params={"customer": customer_id, "usage": "off_session",
                        "payment_method_types": ["card"],
                        "metadata": {"fundraiser_ref": reference}})
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return CardSetup(setup.id, setup.status, customer_id, setup.client_secret,
                         setup.payment_method)

    def finish_card_update(self, *, setup_id: str, customer_id: str) -> CardSetup:
        """When the SetupIntent succeeded for this customer: its card becomes
        the one the customer's invoices are paid with. Safe to repeat."""
        try:
            setup = self.client.v1.setup_intents.retrieve(setup_id)
            if setup.customer != customer_id:
                raise GatewayError(f"setup intent {setup_id} is not for {customer_id}")
            card = {}
            if setup.status == "succeeded" and setup.payment_method:
                pm = self.client.v1.payment_methods.retrieve(setup.payment_method)
                if not pm.customer:
                    self.client.v1.payment_methods.attach(
                        setup.payment_method, params={"customer": customer_id})
                self.client.v1.customers.update(customer_id, params={
                    "invoice_settings": {"default_payment_method": setup.payment_method}})
                card = card_facts(pm.to_dict().get("card"))
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return CardSetup(setup.id, setup.status, customer_id, None, setup.payment_method,
                         **card)

    def default_card(self, customer_id: str) -> str | None:
        """The payment method the customer's invoices are paid with, if one was set."""
        try:
            customer = self.client.v1.customers.retrieve(customer_id).to_dict()
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return _id((customer.get("invoice_settings") or {}).get("default_payment_method"))
