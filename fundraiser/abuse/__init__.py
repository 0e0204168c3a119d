"""Card-testing defences: counters per client address, donor email, card and
appeal (in Redis or the database), escalation from a short wait to an hour's
block, and a per-appeal breaker that pauses card gifts when declines surge.

Knows nothing of donations or appeals beyond an appeal's id: the donation
views call it with plain values."""
