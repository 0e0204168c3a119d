"""Reconcile: compare our open payments with the gateway and repair what a
lost webhook or a closed browser tab left behind (`flask reconcile`, and the
scheduler every 10 minutes: tasks.py); and find the webhook events stored
but never applied (the scheduler's sweep)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from sqlalchemy import select

from . import states
from .gateway import GatewayError, IntentResult
from .models import Payment, WebhookEvent, utcnow
from .services import RECEIVED, apply_intent_status, record_intent, transition_to

log = logging.getLogger(__name__)


def reconcile(session, gateway, since: timedelta, *, grace=timedelta(minutes=2),
              give_up=timedelta(minutes=30)) -> list[tuple[int, str, str]]:
    """Compare our open payments with the gateway and repair what a lost
    webhook or a closed browser tab left behind. Returns (payment id, old
    status, new status) for every payment that changed."""
    now = utcnow()
    changes = []
    open_payments = session.scalars(
        select(Payment).where(Payment.status.in_(states.OPEN),
                              Payment.created_at >= now - since)
        .order_by(Payment.id)
    ).all()
    listed: dict[str, IntentResult] | None = None
    for payment in open_payments:
        old = payment.status
        if payment.intent_id:
            try:
                result = gateway.retrieve(payment.intent_id)
            except GatewayError as exc:
                log.warning("reconcile: cannot retrieve %s: %s", payment.intent_id, exc)
                continue
            apply_intent_status(session, payment.id, result)
        elif now - payment.updated_at > grace:
            # Claimed, but the gateway's answer never reached us: find the
            # intent by our metadata, or give up once nothing can still come.
            if listed is None:
                since_epoch = int(time.time() - since.total_seconds()) - 3600
                listed = {r.reference: r for r in gateway.recent_intents(since_epoch)
                          if r.reference}
            if payment.reference in listed:
                record_intent(session, payment.id, listed[payment.reference])
            elif now - payment.updated_at > give_up:
                transition_to(session, payment.id, states.FAILED, failure_code="no_intent",
                              failure_message="The payment service never received this payment.")
        session.refresh(payment)
        if payment.status != old:
            changes.append((payment.id, old, payment.status))
    session.flush()
    return changes


def unapplied_event_ids(session, older_than: timedelta) -> list[str]:
    """Events stored but still not applied after `older_than`: their job was
    lost (Redis restarted, a worker killed mid-job). Queue them again."""
    return list(session.scalars(
        select(WebhookEvent.event_id)
        .where(WebhookEvent.outcome == RECEIVED,
               WebhookEvent.received_at <= utcnow() - older_than)
        .order_by(WebhookEvent.id).limit(1000)
    ))
