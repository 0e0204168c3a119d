"""Failures between Stripe and us, made to happen for real: the database goes
away after Stripe said yes, Stripe's answer to a create is lost, the app
process is killed mid-gift. Each gift ends counted exactly once, charged
exactly once. Real localstripe throughout; only the network and the process
around it are broken."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import create_engine, event, func, select, text, update
from sqlalchemy.exc import OperationalError

from fundraiser import signals
from fundraiser.donations.models import Donation
from fundraiser.payments import states
from fundraiser.payments.models import Payment, PaymentStatusChange, utcnow
from tests import support
from tests.conftest import _FreshContextClient, make_app
from tests.factories import create_appeal
from tests.faults import AppProcess, FaultyProxy

from .conftest import Donor

VISA = "4242424242424242"
THREE_DS = "4000002760003184"


def api(client, slug="test-appeal"):
    return client.get(f"/api/v1/appeals/{slug}").get_json()


def intents_for(localstripe, reference):
    """What localstripe holds for this payment: every PaymentIntent carrying it."""
    listed = requests.get(f"{localstripe}/v1/payment_intents", params={"limit": 100},
                          headers={"Authorization": "Bearer sk_test_localstripe"},
                          timeout=5).json()
    found = [pi for pi in listed["data"]
             if (pi.get("metadata") or {}).get("fundraiser_ref") == reference]
    while listed.get("has_more"):
        listed = requests.get(f"{localstripe}/v1/payment_intents",
                              params={"limit": 100, "starting_after": listed["data"][-1]["id"]},
                              headers={"Authorization": "Bearer sk_test_localstripe"},
                              timeout=5).json()
        found += [pi for pi in listed["data"]
                  if (pi.get("metadata") or {}).get("fundraiser_ref") == reference]
    return found


def backdate(db, payment_id, minutes):
    """Time passes: reconcile leaves a fresh claim alone for a grace period."""
    db.session.execute(update(Payment).where(Payment.id == payment_id)
                       .values(updated_at=utcnow() - timedelta(minutes=minutes)))
    db.session.commit()


def status_of(db, payment_id):
    status = db.session.scalar(select(Payment.status).where(Payment.id == payment_id))
    db.session.rollback()  # hold no transaction (on SQLite: no lock) while waiting
    return status


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


# -- (a) the database goes away between Stripe's yes and our commit --------------

class CommitFails:
    """The first commit after a payment succeeds (in this thread) fails: on
    PostgreSQL the server kills our connection (pg_terminate_backend) just
    before COMMIT; on SQLite the commit raises OperationalError."""

    def __init__(self, engine, backend):
        self.engine, self.backend = engine, backend
        self.armed = False
        self.fired = 0
        self.thread = threading.current_thread()

    def arm(self, _sender, **_kw):
        if threading.current_thread() is self.thread:
            self.armed = True

    def on_commit(self, conn):
        # Only this thread's commit: the live server's thread may commit a
        # webhook in between (it would take the fault, and the gift's commit
        # would go through).
        if not self.armed or threading.current_thread() is not self.thread:
            return
        self.armed = False
        self.fired += 1
        if self.backend == "postgresql":
            pid = conn.connection.dbapi_connection.info.backend_pid
            killer = create_engine(self.engine.url)
            with killer.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killer.dispose()
        else:
            raise OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))

    def __enter__(self):
        event.listen(self.engine, "commit", self.on_commit)
        self._signal = signals.payment_succeeded.connected_to(self.arm)
        self._signal.__enter__()
        return self

    def __exit__(self, *exc):
        self._signal.__exit__(*exc)
        event.remove(self.engine, "commit", self.on_commit)


@pytest.mark.parametrize("recovery", ["webhook", "reconcile"])
def test_a_gift_whose_commit_failed_after_stripe_said_yes_is_recovered_once(
        request, app, db, client, donor, runner, backend, recovery):
    create_appeal(db.session)
    db.session.commit()
    server = request.getfixturevalue("live_server") if recovery == "webhook" else None
    gift = donor.start(amount="42")
    with CommitFails(db.engine, backend) as fault:
        answer = donor.charge(gift, support.card_token(donor.localstripe, VISA))
    assert fault.fired == 1
    # The donor is told the truth: not yet known, this page will say.
    assert answer.status_code == 503, answer.data[:500]
    body = answer.get_json()
    assert body["status"] == "processing" and body["next"].endswith(f"/give/{gift}/thanks")
    db.session.rollback()
    payment = db.session.scalar(select(Payment))
    reference = payment.reference
    assert [pi["status"] for pi in intents_for(donor.localstripe, reference)] == ["succeeded"]

    if server is not None:
        # Stripe's webhook arrives about a second later (on a busy machine it
        # may already have) and finds the gift by its reference.
        assert wait_until(lambda: status_of(db, payment.id) == states.SUCCEEDED)
    else:
        assert payment.status == states.PROCESSING and payment.intent_id is None  # not kept
        assert api(client)["raised_minor"] == 0
        backdate(db, payment.id, 5)
        result = runner.invoke(args=["reconcile", "--since", "1d"])
        assert result.exit_code == 0 and "processing -> succeeded" in result.output, \
            result.output
    db.session.rollback()
    # Whatever else comes later changes nothing: reconcile again, the webhook again.
    assert "0 payment(s) changed" in runner.invoke(args=["reconcile", "--since", "1d"]).output
    pi = intents_for(donor.localstripe, reference)[0]
    again = support.post_event(client, app, support.stripe_event(
        "payment_intent.succeeded", pi, "evt_late_" + pi["id"]))
    assert again.get_json()["outcome"] == "repeat"
    # The success was recorded by the recovery, not by the answer whose commit was lost.
    causes = db.session.scalars(select(PaymentStatusChange.cause).where(
        PaymentStatusChange.payment_id == payment.id,
        PaymentStatusChange.to_status == states.SUCCEEDED)).all()
    assert len(causes) == 1 and causes[0].startswith(
        "webhook payment_intent.succeeded" if server is not None else "reconcile"), causes
    figures = api(client)
    assert (figures["raised_minor"], figures["donation_count"]) == (4200, 1)
    assert "Your gift has been received" in client.get(f"/give/{gift}/thanks").data.decode()
    assert db.session.scalar(select(func.count()).select_from(Donation)
                             .where(Donation.receipt_sent_at.is_not(None))) == 1
    assert len(getattr(app.extensions["mailman"], "outbox", [])) == 1


# -- (b) Stripe's answer to the PaymentIntent create is lost ---------------------

@pytest.fixture
def proxied(database_url, localstripe):
    """The app talking to localstripe through a FaultyProxy (rules set by the test)."""
    with FaultyProxy(localstripe, []) as proxy:
        app = make_app(database_url, proxy.url)
        app.test_client_class = _FreshContextClient
        with app.app_context():
            yield app, proxy
            from fundraiser.extensions import db

            db.session.remove()
            db.engine.dispose()


def test_a_lost_answer_to_the_intent_create_charges_the_card_once(proxied, localstripe):
    app, proxy = proxied
    from fundraiser.extensions import db

    create_appeal(db.session)
    db.session.commit()
    client = app.test_client()
    donor = Donor(client, localstripe)
    gift = donor.start(amount="30")
    # localstripe makes and confirms the intent; its answer never comes back.
    proxy.rules.append(("POST", "/v1/payment_intents", "drop"))
    answer = donor.charge(gift, support.card_token(localstripe, VISA))
    assert answer.status_code == 200 and answer.get_json()["status"] == "succeeded"
    reference = db.session.scalar(select(Payment.reference))
    charged = intents_for(localstripe, reference)
    assert [pi["status"] for pi in charged] == ["succeeded"]  # one charge, not two
    # Any create sent again carried the same idempotency key (what real Stripe needs).
    keys = {key for _m, _p, key in proxy.creates()}
    assert len(keys) == 1 and keys.pop().endswith("-intent")
    assert db.session.scalar(select(Payment.intent_id)) == charged[0]["id"]
    assert api(client)["raised_minor"] == 3000


# -- (c) the app process is killed between the payment and the webhook ------------

def _donor_session(base, slug, amount):
    """A donor's browser against the app process: the gift form, then the card page."""
    s = requests.Session()
    page = s.get(f"{base}/appeals/{slug}", timeout=10)
    csrf = support.form_token(s, page, base)
    made = s.post(f"{base}/appeals/{slug}/give", allow_redirects=False, timeout=10, data={
        "csrf_token": csrf, "amount": amount, "currency": "USD", "name": "Kim Killed",
        "email": "kim@example.org"})
    assert made.status_code == 303, made.text[:500]
    public_id = made.headers["Location"].rsplit("/", 1)[1]
    card_page = s.get(f"{base}/give/{public_id}", timeout=10)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', card_page.text).group(1)
    return s, public_id, csrf


@pytest.mark.parametrize("moment", ["after 3-D Secure, before the webhook",
                                    "while waiting for Stripe's answer"])
def test_an_app_killed_mid_gift_records_it_once_after_restart(
        database_url, localstripe, prepared_database, tmp_path, moment):
    secret = "whsec_fault"
    with FaultyProxy(localstripe, []) as proxy:
        proc = AppProcess(database_url, proxy.url, secret)
        prepared_database(proc)
        support.register_webhook(localstripe, proc.url + "/webhooks/stripe", secret)
        proc.start()
        try:
            s, public_id, csrf = _donor_session(proc.url, "test-appeal", "55")
            if moment.startswith("after"):
                answer = s.post(f"{proc.url}/give/{public_id}/charge", timeout=20,
                                json={"token": support.card_token(localstripe, THREE_DS)},
                                headers={"X-CSRFToken": csrf}).json()
                assert answer["status"] == "requires_action"
                support.authenticate_3ds(localstripe, answer["client_secret"], success=True)
                proc.kill()  # Stripe's webhook comes about a second later: nobody answers
            else:
                proxy.rules.append(("POST", "/v1/payment_intents", "hold"))
                charging = threading.Thread(target=lambda: _quietly(
                    s.post, f"{proc.url}/give/{public_id}/charge", timeout=30,
                    json={"token": support.card_token(localstripe, VISA)},
                    headers={"X-CSRFToken": csrf}))
                charging.start()
                assert proxy.reached.wait(20)  # localstripe has charged the card
                proc.kill()
                proxy.release()
                charging.join(30)
            time.sleep(1.5)  # the webhook localstripe sends now finds no one
            reference, status = _payment(database_url)
            assert status in (states.REQUIRES_ACTION, states.PROCESSING)
            assert [pi["status"] for pi in intents_for(localstripe, reference)] == ["succeeded"]

            proc.start()  # restarted
            pi = intents_for(localstripe, reference)[0]
            payload = support.stripe_event("payment_intent.succeeded", pi, "evt_retry_" + pi["id"])

            def webhook():  # Stripe's own retry of the event nobody answered
                return requests.post(
                    f"{proc.url}/webhooks/stripe", data=payload, timeout=10,
                    headers={"Content-Type": "application/json",
                             "Stripe-Signature": support.sign(payload, secret)}).json()

            if status == states.REQUIRES_ACTION:
                # The intent id was kept: the retried webhook records the gift,
                # and cron's reconcile after it finds nothing left to do.
                assert webhook()["outcome"] == "applied"
                result = proc.flask("reconcile", "--since", "1d")
                assert result.returncode == 0 and "0 payment(s) changed" in result.stdout, \
                    result.stdout + result.stderr
            else:
                # Killed before the intent id was stored: cron's reconcile finds
                # the intent by our reference, and the retried webhook is a repeat.
                _backdate_process(database_url, minutes=5)
                result = proc.flask("reconcile", "--since", "1d")
                assert result.returncode == 0 and "processing -> succeeded" in result.stdout, \
                    result.stdout + result.stderr
                assert webhook()["outcome"] == "repeat"
            figures = requests.get(f"{proc.url}/api/v1/appeals/test-appeal", timeout=10).json()
            assert (figures["raised_minor"], figures["donation_count"]) == (5500, 1)
            assert len(intents_for(localstripe, reference)) == 1
        finally:
            proc.stop()


def _quietly(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except requests.RequestException:
        pass  # the process it was talking to was killed


def _engine(database_url):
    from tests.conftest import _pg_url

    return create_engine(_pg_url() if database_url.startswith("postgres") else database_url)


def _payment(database_url):
    engine = _engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT reference, status FROM payments")).one()
    engine.dispose()
    return row


def _backdate_process(database_url, minutes):
    engine = _engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE payments SET updated_at = :t"),
                     {"t": utcnow() - timedelta(minutes=minutes)})
    engine.dispose()


@pytest.fixture
def prepared_database(database_url):
    """Migrate (SQLite file) and add the appeal, through the app's own code."""
    def prepare(proc):
        app = make_app(database_url)
        with app.app_context():
            from fundraiser.extensions import db

            create_appeal(db.session)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
    return prepare
