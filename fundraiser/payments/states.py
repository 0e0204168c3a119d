"""The payment state table. Pure data and one pure function: no DB here.

Every status change goes through `check_transition()` (called by
`services.transition_to()`). A repeated legal move is a no-op, so a webhook
delivered twice, or a webhook racing the browser's report, changes nothing.
"""

CREATED = "created"                # our row exists; nothing sent to the gateway yet
PROCESSING = "processing"          # submitted to the gateway; outcome not known yet
REQUIRES_ACTION = "requires_action"  # the donor's bank wants 3-D Secure
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
PARTIALLY_REFUNDED = "partially_refunded"
REFUNDED = "refunded"
DISPUTED = "disputed"              # the card holder's bank took the money back for now
DISPUTE_LOST = "dispute_lost"

ALL = (
    CREATED, PROCESSING, REQUIRES_ACTION, SUCCEEDED, FAILED, CANCELED,
    PARTIALLY_REFUNDED, REFUNDED, DISPUTED, DISPUTE_LOST,
)

# Money that counts towards a goal sits in these states (less refunds).
COUNTED = (SUCCEEDED, PARTIALLY_REFUNDED)
# The gateway has not said the last word yet: reconcile looks at these.
OPEN = (PROCESSING, REQUIRES_ACTION)
# Before success: a payment in one of these may still become a gift.
PENDING = (CREATED, PROCESSING, REQUIRES_ACTION)

TRANSITIONS: dict[str, frozenset[str]] = {
    CREATED: frozenset({PROCESSING, REQUIRES_ACTION, SUCCEEDED, FAILED, CANCELED}),
    PROCESSING: frozenset({REQUIRES_ACTION, SUCCEEDED, FAILED, CANCELED}),
    REQUIRES_ACTION: frozenset({PROCESSING, SUCCEEDED, FAILED, CANCELED}),
    # The gateway's word that money moved wins over an earlier failure report
    # (e.g. a late `succeeded` after a timed-out attempt): never lose a gift.
    FAILED: frozenset({SUCCEEDED}),
    CANCELED: frozenset(),
    SUCCEEDED: frozenset({PARTIALLY_REFUNDED, REFUNDED, DISPUTED}),
    PARTIALLY_REFUNDED: frozenset({REFUNDED, DISPUTED}),
    REFUNDED: frozenset(),
    DISPUTED: frozenset({SUCCEEDED, DISPUTE_LOST}),
    DISPUTE_LOST: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, current: str, new: str):
        super().__init__(f"payment cannot go from {current} to {new}")
        self.current = current
        self.new = new


def check_transition(current: str, new: str) -> bool:
    """True if the move changes something, False if it is a repeat (no-op).
    Raises IllegalTransition for a move the table does not allow."""
    if new not in TRANSITIONS:
        raise ValueError(f"unknown payment status {new!r}")
    if current == new:
        return False
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(current, new)
    return True


def sources_of(new: str) -> tuple[str, ...]:
    """States from which `new` may be reached (for a conditional UPDATE)."""
    return tuple(state for state, nexts in TRANSITIONS.items() if new in nexts)
