"""The periodic work, shared by the CLI commands (`flask reconcile`,
`flask charge-pledges`, for cron) and the scheduler's jobs. Each reports what
it did, line by line, through `say` (the CLI prints; a job logs)."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from .extensions import db
from .jobs import enqueue, job

log = logging.getLogger(__name__)


def reconcile(since: timedelta, say=log.info) -> None:
    """Compare open payments with the processor and repair what a lost webhook
    left behind; finish refunds left pending (of any age) when a process died
    between the processor's answer and our commit."""
    from .payments import services, states
    from .payments.gateway import GatewayError
    from .payments.reconcile import reconcile as reconcile_payments
    from .staff import refund_services as staff

    gateway = current_app.extensions["fundraiser.gateway"]
    with services.caused_by("reconcile"):
        changes = reconcile_payments(db.session, gateway, since)
    db.session.commit()
    for payment_id, old, new in changes:
        say(f"payment {payment_id}: {old} -> {new}")
    say(f"{len(changes)} payment(s) changed")

    stuck = staff.stuck_refunds(db.session)
    db.session.rollback()  # no transaction (no SQLite write lock) during the calls
    settled = 0
    for refund in stuck:
        try:
            found = gateway.refunds_for(refund.intent_id)
        except GatewayError as exc:
            say(f"refund {refund.refund_id}: still pending: the payment service did "
                f"not answer ({exc})")
            continue
        try:
            with services.caused_by("reconcile"):
                outcome, detail = staff.settle_stuck_refund(db.session, refund.refund_id, found)
            db.session.commit()
        except states.IllegalTransition as exc:
            # e.g. the gift is disputed now: a person has to look at it.
            db.session.rollback()
            say(f"refund {refund.refund_id}: still pending: {exc}; settle it by hand")
            continue
        if outcome != "unchanged":
            settled += 1
            say(f"refund {refund.refund_id}: pending -> {outcome} ({detail})")
    say(f"{settled} refund(s) settled")


def due_pledges(appeal_id: int | None = None, force: bool = False) -> list[int]:
    from .matching import card_pledges as matching
    from .payments.models import utcnow

    due = matching.card_pledges_due(db.session, utcnow(), appeal_id, force=force)
    db.session.rollback()
    return due


def charge_pledges(due: list[int], say=log.info) -> None:
    """Charge saved-card friend-match pledges, each for exactly what friends
    unlocked: closed and claimed (committed) before the card is charged."""
    from .donations import pledge_auth
    from .matching import card_pledges as matching
    from .payments import states
    from .payments.gateway import GatewayError
    from .payments.services import caused_by

    gateway = current_app.extensions["fundraiser.gateway"]
    for pledge_id in due:
        amount = matching.close_card_pledge(db.session, pledge_id)
        db.session.commit()
        try:
            with caused_by("charge-pledges"):
                status = matching.charge_closed_pledge(db.session, gateway, pledge_id)
            if status == states.REQUIRES_ACTION and pledge_auth.ask_pledger(db.session, pledge_id):
                status += " (the pledger is asked to confirm it with their bank)"
            db.session.commit()
        except GatewayError as exc:
            # The payment stays `processing`; reconcile finds it by its reference.
            db.session.rollback()
            status = f"unknown ({exc})"
        say(f"pledge {pledge_id}: {amount} minor units, {status}")
    # A charge that came to need the pledger's bank without them being asked
    # (this run's predecessor stopped, or reconcile learnt its intent later).
    for pledge_id in matching.charges_never_asked(db.session):
        if pledge_auth.ask_pledger(db.session, pledge_id):
            say(f"pledge {pledge_id}: the pledger is asked to confirm the charge "
                "with their bank")
        db.session.commit()
    lapse_waiting_pledges(say)
    remind_waiting_pledgers(say)
    db.session.rollback()
    if due:  # closed pledges show so in the public JSON, on every host
        current_app.extensions["fundraiser.public_cache"].clear()
    say(f"{len(due)} pledge(s) closed")


def _waited(find, setting: str, default_days: int) -> list[int]:
    """`find(session, asked_before)` with the cutoff `setting` days ago; the
    read-only transaction ends before anything acts on the ids."""
    from .payments.models import utcnow

    days = int(current_app.config.get(setting, default_days))
    found = find(db.session, utcnow() - timedelta(days=days))
    db.session.rollback()
    return found


def pledgers_to_remind() -> list[int]:
    """Pledges whose closing charge has waited PLEDGE_REMIND_AFTER_DAYS for
    the pledger's bank and whose pledger was not reminded yet."""
    from .matching import card_pledges as matching

    return _waited(matching.to_remind, "PLEDGE_REMIND_AFTER_DAYS", 3)


def remind_waiting_pledgers(say=log.info) -> int:
    """Remind each of them once, with a new link (the old one stops working)."""
    from .donations import pledge_auth

    reminded = 0
    for pledge_id in pledgers_to_remind():
        if pledge_auth.remind_pledger(db.session, pledge_id):
            reminded += 1
            say(f"pledge {pledge_id}: the pledger is reminded to confirm the charge "
                "with their bank")
        db.session.commit()
    return reminded


def pledges_to_lapse() -> list[int]:
    """Pledges whose closing charge has waited PLEDGE_LAPSE_AFTER_DAYS for the
    pledger's bank since they were asked."""
    from .matching import card_pledges as matching

    return _waited(matching.to_lapse, "PLEDGE_LAPSE_AFTER_DAYS", 14)


def lapse_waiting_pledges(say=log.info) -> int:
    """Give each of them up: the charge is canceled at the gateway first (a
    pledger who confirmed at the last minute keeps their charge), then the
    pledge lapses, its matches are released like a declined charge's, and the
    pledger is told, once."""
    from .donations import pledge_auth
    from .matching import card_pledges as matching
    from .payments import states
    from .payments.gateway import GatewayError
    from .payments.services import caused_by

    gateway = current_app.extensions["fundraiser.gateway"]
    lapsed = 0
    for pledge_id in pledges_to_lapse():
        intent_id = matching.charge_intent(db.session, pledge_id)
        db.session.rollback()  # no transaction open during the gateway call
        if intent_id:
            try:
                status = gateway.cancel_intent(intent_id).status
            except GatewayError as exc:
                say(f"pledge {pledge_id}: still waiting: the payment service did not "
                    f"answer ({exc})")
                continue
            if status != states.CANCELED:  # confirmed meanwhile: the webhook applies it
                say(f"pledge {pledge_id}: not lapsed: the charge is {status}")
                continue
        with caused_by("lapse-pledges"):
            if matching.lapse(db.session, pledge_id):
                pledge_auth.tell_lapsed(db.session, pledge_id)
                lapsed += 1
                say(f"pledge {pledge_id}: lapsed: the charge waited too long for the "
                    "pledger's bank and was canceled; the pledger is told")
        db.session.commit()
    if lapsed:  # the ledger and the pledge pages changed, on every host
        current_app.extensions["fundraiser.public_cache"].clear()
    return lapsed


def _cosign_cutoff():
    """Before this, an unconfirmed co-sign request's link has been expired for
    the whole grace period (SIGN_LINK_VALID_DAYS + COSIGN_UNCONFIRMED_GRACE_DAYS)."""
    from .payments.models import utcnow

    days = (int(current_app.config["SIGN_LINK_VALID_DAYS"])
            + int(current_app.config.get("COSIGN_UNCONFIRMED_GRACE_DAYS", 7)))
    return utcnow() - timedelta(days=days)


def cosign_requests_to_purge() -> list[int]:
    from .appeals import cosign

    stale = cosign.stale(db.session, _cosign_cutoff())
    db.session.rollback()
    return stale


def purge_cosign_requests(say=log.info) -> int:
    """Delete co-sign requests never confirmed, and their logos; confirmed,
    approved or declined ones are never touched. Safe to run again."""
    from .appeals import cosign

    gone = cosign.purge(db.session, _cosign_cutoff())
    db.session.commit()
    for request_id in gone:
        say(f"co-sign request {request_id}: never confirmed, deleted with its logo")
    say(f"{len(gone)} unconfirmed co-sign request(s) deleted")
    return len(gone)


# -- as jobs (the scheduler queues these) ------------------------------------

@job
def reconcile_job(since_seconds: int = 2 * 24 * 3600) -> None:
    reconcile(timedelta(seconds=since_seconds))


@job
def charge_pledges_job() -> None:
    charge_pledges(due_pledges())


@job
def remind_waiting_pledgers_job() -> int:
    """Lapse the pledges that waited too long, then remind the others."""
    return lapse_waiting_pledges() + remind_waiting_pledgers()


@job
def purge_cosign_requests_job() -> int:
    return purge_cosign_requests()


@job
def requeue_unapplied_events(older_than_seconds: int | None = None) -> int:
    """Queue again the webhook events stored but not applied for
    `older_than_seconds` (WEBHOOK_SWEEP_AGE_SECONDS): their job was lost
    (Redis restarted, a worker killed mid-job). Applying is safe to repeat,
    so an event that was only slow is not harmed."""
    from .payments.jobs import apply_waiting_events
    from .payments.reconcile import unapplied_event_ids

    if older_than_seconds is None:
        older_than_seconds = int(current_app.config.get("WEBHOOK_SWEEP_AGE_SECONDS", 120))

    lost = unapplied_event_ids(db.session, timedelta(seconds=older_than_seconds))
    db.session.rollback()
    if lost:  # one job applies them all (and any younger one waiting)
        enqueue(apply_waiting_events)
        log.warning("%s stored webhook event(s) were not applied; queued again", len(lost))
    return len(lost)


def overdue_receipts() -> list[int]:
    """Gifts whose receipt still waits RECEIPT_SWEEP_AGE_SECONDS after they
    succeeded (the first few): the ask for their job was lost (Redis
    restarted, a mailer killed mid-job)."""
    from .donations.receipts import waiting_receipts

    age = int(current_app.config.get("RECEIPT_SWEEP_AGE_SECONDS", 300))
    overdue = waiting_receipts(db.session, older_than=timedelta(seconds=age), limit=10)
    db.session.rollback()
    if overdue:
        log.warning("receipts of payments %s (and maybe more) still wait; queued again",
                    overdue)
    return overdue
