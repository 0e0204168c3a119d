"""POST /webhooks/stripe: verify, store once, acknowledge, then apply: by
a worker when Redis is configured (one job for every event waiting:
payments/jobs.py), right after the commit otherwise."""

import logging

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import OperationalError

from .. import jobs, logs
from ..extensions import csrf, db
from . import services
from .gateway import InvalidWebhook
from .jobs import apply_waiting_events, apply_webhook_event

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

MAX_WEBHOOK_BYTES = 256 * 1024


@bp.post("/webhooks/stripe")
@csrf.exempt
def stripe_webhook():
    if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
        return jsonify(error="payload too large"), 413
    # Content-Length may be absent (Transfer-Encoding: chunked): read no more
    # than the cap and one byte, whatever the client announced.
    payload = request.stream.read(MAX_WEBHOOK_BYTES + 1)
    if len(payload) > MAX_WEBHOOK_BYTES:
        return jsonify(error="payload too large"), 413
    gateway = current_app.extensions["fundraiser.gateway"]
    try:
        event = gateway.parse_webhook(payload, request.headers.get("Stripe-Signature"))
    except InvalidWebhook as exc:
        log.warning("webhook refused: %s", exc)
        return jsonify(error="invalid signature or payload"), 400
    try:
        stored = services.store_event(db.session, event, logs.current_request_id())
        inline = None
        # With a queue, one job applies every event waiting, on the money
        # queue: no receipt or letter on the mail queue delays it.
        if stored != "duplicate" and not jobs.enqueue_coalesced(apply_waiting_events):
            inline = jobs.enqueue(apply_webhook_event, event.id)  # no queue: after the commit
        db.session.commit()
    except OperationalError:
        # A lock timeout: nothing was stored, so a retry will be applied.
        db.session.rollback()
        log.exception("webhook %s not stored, asking for a retry", event.id)
        return jsonify(error="busy, retry"), 503
    if stored == "duplicate":
        outcome = "duplicate"
    elif inline is None:
        outcome = "queued"  # a worker applies it
    elif inline.done:
        outcome = inline.result or "duplicate"
    else:
        # Inline and it failed (a lock timeout): stored, not applied; the
        # processor's retry finds it pending and applies it.
        return jsonify(error="busy, retry"), 503
    log.info("webhook %s %s: %s", event.id, event.type, outcome)
    return jsonify(received=True, outcome=outcome)
