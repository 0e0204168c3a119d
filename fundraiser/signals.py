"""Cross-domain announcements. Senders pass ids and plain values, never ORM
objects. A payment's move also sends `moved`: its figures as the moving
UPDATE returned them (payments.moves.Moved), so listeners need not read
them again.

`payments` announces what happened to a payment; `donations`, `matching` and
receipts listen. A listener runs inside the sender's transaction, so whatever
it writes commits (or rolls back) together with the state change.
"""

from blinker import Namespace

_signals = Namespace()

#: sender=None, payment_id=int, session=Session, moved=payments.moves.Moved
payment_succeeded = _signals.signal("payment-succeeded")
#: sender=None, payment_id=int, session=Session, moved=payments.moves.Moved
payment_failed = _signals.signal("payment-failed")
#: sender=None, payment_id=int, amount_minor=int (this refund only), session=Session
payment_refunded = _signals.signal("payment-refunded")
#: sender=None, payment_id=int, session=Session, moved=Moved — succeeded/partially
#: refunded → disputed: the bank took the money back for now.
payment_disputed = _signals.signal("payment-disputed")
#: sender=None, payment_id=int, session=Session, moved=Moved — disputed → succeeded: the dispute
#: was won and the money is ours again.
payment_reinstated = _signals.signal("payment-reinstated")
#: sender=None, appeal_id=int, declines=int, resets_at=datetime, session=Session — card
#: declines on an appeal passed the breaker's threshold: its card gifts are paused. Sent once
#: per trip.
card_breaker_tripped = _signals.signal("card-breaker-tripped")
#: sender=None, event=GatewayEvent, session=Session — a verified event payments does not
#: apply itself (invoices, subscriptions). The receiver that knows the type returns
#: (payment_id | None, outcome); others return None.
gateway_event = _signals.signal("gateway-event")
