"""POST /webhooks/stripe: verify, store once, apply, acknowledge."""

import logging

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import OperationalError

from ..extensions import csrf, db
from . import services
from .gateway import InvalidWebhook

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

MAX_WEBHOOK_BYTES = 256 * 1024


@bp.post("/webhooks/stripe")
@csrf.exempt
def stripe_webhook():
    if (request.content_length or 0) > MAX_WEBHOOK_BYTES:
        return jsonify(error="payload too large"), 413
    payload = request.get_data(cache=False)
    gateway = current_app.extensions["fundraiser.gateway"]
    try:
        event = gateway.parse_webhook(payload, request.headers.get("Stripe-Signature"))
    except InvalidWebhook as exc:
        log.warning("webhook refused: %s", exc)
        return jsonify(error="invalid signature or payload"), 400
    try:
        outcome = services.ingest_event(db.session, event)
        db.session.commit()
    except OperationalError:
        # A lock timeout: nothing was stored, so a retry will be applied.
        db.session.rollback()
        log.exception("webhook %s not stored, asking for a retry", event.id)
        return jsonify(error="busy, retry"), 503
    log.info("webhook %s %s: %s", event.id, event.type, outcome)
    return jsonify(received=True, outcome=outcome)
