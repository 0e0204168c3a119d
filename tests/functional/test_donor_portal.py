"""The donor portal (issue 18): a donor asks for a magic link by email, opens
it once within 30 minutes, sees their own gifts (no one else's), sets their
contact preference, and can erase their personal data while the appeal's
totals stay the same. The answer to "send me a link" says nothing about
who has given; it is rate-limited; hostile input is refused cleanly."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from fundraiser.appeals.services import save_translation
from fundraiser.donations import services as donations
from fundraiser.donors.models import PortalLink
from fundraiser.money import Money
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.models import utcnow
from fundraiser.staff import services as staff
from fundraiser.staff.models import AuditEvent
from tests.conftest import _FreshContextClient, app_with
from tests.factories import create_appeal, create_donation
from tests.functional.staff.conftest import PASSWORD, StaffClient

LINK = re.compile(r"http://127\.0\.0\.1:5000(/my-gifts/link/[A-Za-z0-9_-]+)\?lang=(\w+)")
SENT = "Check your email"


class Clock:
    """The portal's clock, moved by hand."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, **kw):
        self.now += timedelta(**kw)


def csrf(client, url="/my-gifts") -> str:
    page = client.get(url)
    return re.search(rb'name="csrf-token" content="([^"]+)"', page.data).group(1).decode()


def ask(client, email, **extra):
    return client.post("/my-gifts", data={"csrf_token": csrf(client), "email": email, **extra})


def portal_mails(app):
    return [m for m in app.extensions["mailman"].outbox if "/my-gifts" in m.body]


def link_in(mail) -> str:
    return LINK.search(mail.body).group(1)


def open_link(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.data[:500]
    return client.post(path, data={"csrf_token": csrf(client, path)})


def give(db, appeal, amount_minor, email, name, status=states.SUCCEEDED, **kw):
    donation = create_donation(db.session, appeal, amount_minor=amount_minor, email=email,
                               name=name, **kw)
    db.session.commit()
    if status != states.CREATED:
        payments.transition_to(db.session, donation.payment_id, states.SUCCEEDED)
        db.session.commit()
    if status == states.REFUNDED:
        payments.apply_refund_total(db.session, donation.payment_id, amount_minor)
        db.session.commit()
    return donation


@pytest.fixture
def gifts(db):
    """Dana gave to two appeals (one gift refunded); Noa gave too."""
    first = create_appeal(db.session, slug="rivers", title="Clean rivers")
    save_translation(db.session, first, "he", languages=("en", "he"), title="נהרות נקיים")
    second = create_appeal(db.session, slug="schools", title="Open schools", currency="ILS")
    db.session.commit()
    give(db, first, 2500, "Dana@Example.org", "Dana Donor", comment="Go rivers!",
         display_name="Dana D.")
    give(db, second, 18000, "dana@example.org", "Dana Donor", status=states.REFUNDED)
    give(db, first, 7700, "noa@example.org", "Noa Neighbour", comment="For Noa's kids")
    return first, second


def test_a_known_email_gets_a_link_that_shows_only_their_gifts_once(app, client, gifts):
    answer = ask(client, "  dana@EXAMPLE.org ")
    assert answer.status_code == 200 and SENT in answer.text
    [mail] = portal_mails(app)
    assert mail.to == ["dana@example.org"] and "30 minutes" in mail.body
    path = link_in(mail)
    assert open_link(client, path).status_code == 303
    page = client.get("/my-gifts")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Clean rivers" in page.text and "Open schools" in page.text
    assert "$25.00" in page.text and "₪180.00" in page.text
    assert "Refunded" in page.text and "Received" in page.text
    assert "Noa" not in page.text and "$77.00" not in page.text   # another donor's gift
    thanks = re.findall(r'href="(/give/[^"]+/thanks)"', page.text)
    assert len(thanks) == 2 and client.get(thanks[0]).status_code == 200
    # Once: the same link again (another browser, or a replay) is refused.
    again = app.test_client()
    used = again.get(path)
    assert used.status_code == 410 and "already been used" in used.text
    assert 'name="email"' in used.text                       # with the form for a new one
    assert again.post(path, data={"csrf_token": csrf(again, "/my-gifts")}).status_code == 410
    assert "Your gifts" in client.get("/").text                # the footer links here


def test_hebrew_shows_translated_titles_and_amounts_right_to_left(app, client, gifts):
    client.get("/lang/he")
    ask(client, "dana@example.org")
    mail = portal_mails(app)[-1]
    assert LINK.search(mail.body).group(2) == "he"
    open_link(client, link_in(mail))
    page = client.get("/my-gifts")
    assert 'dir="rtl"' in page.text and 'lang="he"' in page.text
    assert "נהרות נקיים" in page.text and "הוחזר" in page.text


def test_an_unknown_email_gets_the_same_answer_and_no_link(app, client, gifts):
    known = ask(client, "dana@example.org")
    unknown = ask(client, "stranger@example.org")
    assert known.status_code == unknown.status_code == 200

    def same(response, email):
        text = response.text.replace(email, "EMAIL")
        return re.sub(r'(name="csrf[-_]token"[^>]*value|content)="[^"]*"', "", text)

    assert same(known, "dana@example.org") == same(unknown, "stranger@example.org")
    to_stranger = [m for m in portal_mails(app) if m.to == ["stranger@example.org"]]
    assert len(to_stranger) == 1 and "/my-gifts/link/" not in to_stranger[0].body
    assert "hold no gifts" in to_stranger[0].body
    from fundraiser.extensions import db

    assert db.session.scalars(select(PortalLink.email)).all() == ["dana@example.org"]


def test_a_link_expires_after_30_minutes_and_a_session_after_30_more(database_url):
    clock = Clock()
    with app_with(database_url, DONOR_PORTAL_CLOCK=clock) as app:
        from fundraiser.extensions import db

        app.test_client_class = _FreshContextClient
        appeal = create_appeal(db.session)
        db.session.commit()
        give(db, appeal, 2500, "dana@example.org", "Dana Donor")
        client = app.test_client()
        ask(client, "dana@example.org")
        late = link_in(portal_mails(app)[-1])
        clock.advance(minutes=31)
        expired = client.get(late)
        assert expired.status_code == 410 and "expired" in expired.text
        assert client.post(late, data={"csrf_token": csrf(client)}).status_code == 410
        ask(client, "dana@example.org")
        assert open_link(client, link_in(portal_mails(app)[-1])).status_code == 303
        assert "$25.00" in client.get("/my-gifts").text
        clock.advance(minutes=29)
        assert "$25.00" in client.get("/my-gifts").text
        clock.advance(minutes=2)
        ended = client.get("/my-gifts")
        assert "$25.00" not in ended.text and 'name="email"' in ended.text


def test_a_link_opens_only_its_own_donors_gifts(app, client, gifts):
    ask(client, "noa@example.org")
    noa = app.test_client()
    open_link(noa, link_in(portal_mails(app)[-1]))
    page = noa.get("/my-gifts")
    assert "$77.00" in page.text and "Dana" not in page.text and "$25.00" not in page.text
    # A made-up or altered token opens nothing.
    bogus = client.get("/my-gifts/link/" + "A" * 43)
    assert bogus.status_code == 404 and 'name="email"' in bogus.text
    assert client.get("/my-gifts/link/" + "x" * 5000).status_code == 404


def test_requests_are_rate_limited_per_email_and_per_address(database_url):
    with app_with(database_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                  DONOR_LINK_LIMIT_EMAIL="3 per minute",
                  DONOR_LINK_LIMIT_ADDRESS="5 per minute") as app:
        app.test_client_class = _FreshContextClient
        client = app.test_client()
        for _ in range(3):
            assert ask(client, "dana@example.org").status_code == 200
        refused = ask(client, "dana@example.org")
        assert refused.status_code == 429
        assert "asked for several links in a short time" in refused.text
        assert 'name="email"' in refused.text
        elsewhere = app.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
        assert ask(elsewhere, "dana@example.org").status_code == 429   # the inbox is protected
        assert ask(client, "other@example.org").status_code == 200
        assert ask(client, "third@example.org").status_code == 200
        assert ask(client, "fourth@example.org").status_code == 429    # the address is slowed
        assert ask(elsewhere, "fourth@example.org").status_code == 200
        assert len(portal_mails(app)) == 6


def _api(client, slug):
    data = client.get(f"/api/v1/appeals/{slug}").get_json()
    return {k: data[k] for k in ("raised_minor", "matched_minor", "total_minor", "donor_count",
                                 "donation_count")}


def test_erasing_keeps_the_totals_and_removes_the_donor_from_every_page(app, client, db,
                                                                         gifts):
    rivers = gifts[0]
    origin = db.session.scalar(select(donations.Donation).where(
        donations.Donation.amount_minor == 2500))
    funding, pledge = donations.start_pledge(db.session, origin, Money(1000, "USD"),
                                             "Dana the Matcher")
    db.session.commit()
    payments.transition_to(db.session, funding.payment_id, states.SUCCEEDED)
    db.session.commit()
    give(db, rivers, 1500, "friend@example.org", "Friend", source=pledge.code)
    before = _api(client, "rivers"), _api(client, "schools")
    assert "Dana D." in client.get("/appeals/rivers").text
    assert "Dana the Matcher" in client.get("/appeals/rivers/matching").text

    ask(client, "dana@example.org")
    path = link_in(portal_mails(app)[-1])
    open_link(client, path)
    confirm = client.get("/my-gifts/erase")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    unticked = client.post("/my-gifts/erase", data={"csrf_token": csrf(client)})
    assert unticked.status_code == 422 and "tick the box" in unticked.text
    erased = client.post("/my-gifts/erase", data={"csrf_token": csrf(client), "confirm": "y"})
    assert erased.status_code == 200 and "Your data is erased" in erased.text

    assert (_api(client, "rivers"), _api(client, "schools")) == before
    shown = client.get("/appeals/rivers").text + client.get("/appeals/rivers/matching").text
    for personal in ("Dana", "Go rivers!", "dana@example.org"):
        assert personal not in shown
    assert "Anonymous" in shown
    assert "For Noa&#39;s kids" in shown or "For Noa's kids" in shown   # others untouched
    # The session and the link are gone; a new link finds nothing.
    assert 'name="email"' in client.get("/my-gifts").text
    assert client.get(path).status_code == 404
    rows = db.session.scalars(select(donations.Donation).where(
        donations.Donation.erased_at.is_not(None))).all()
    assert len(rows) == 3 and all(r.donor_name == "" and r.comment == "" for r in rows)
    assert len({r.email for r in rows}) == 1 and rows[0].email.endswith("@erased.invalid")
    assert sum(r.amount_minor for r in rows) == 2500 + 18000 + 1000
    # The audit log says it happened, without who.
    [event] = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "donor.erase")).all()
    assert json.loads(event.details) == {"donations": sorted(r.id for r in rows),
                                         "pledges": [pledge.id], "signatures": [],
                                         "cosign_requests": []}
    assert "dana" not in (event.details + event.target_id + event.actor_email).lower()
    # Staff exports no longer carry the name or address.
    user, _ = staff.create_staff(db.session, "finance@example.org", "finance")
    staff.set_password(db.session, user, PASSWORD)
    db.session.commit()
    finance = StaffClient(app, "finance@example.org")
    assert finance.login().status_code == 302
    export = finance.get("/staff/donations.csv").data.decode()
    export += finance.get("/staff/donors.csv").data.decode()
    assert "noa@example.org" in export
    assert "dana" not in export.lower() and "Go rivers" not in export
    staff_page = finance.get(f"/staff/donations/{origin.id}").text
    assert "Erased by the donor" in staff_page and "Dana" not in staff_page
    assert "a donor who erased their data" in finance.get("/staff/donors").text
    # Dana's thank-you page still works, without a name.
    thanks = client.get(f"/give/{origin.public_id}/thanks")
    assert thanks.status_code == 200 and "Dana" not in thanks.text


def test_the_contact_preference_is_stored_on_every_gift(app, client, db, gifts):
    ask(client, "dana@example.org")
    open_link(client, link_in(portal_mails(app)[-1]))
    assert 'name="wants_updates"' in client.get("/my-gifts").text
    saved = client.post("/my-gifts/preferences",
                        data={"csrf_token": csrf(client), "wants_updates": "y"})
    assert saved.status_code == 303
    assert "Your preference is saved" in client.get(saved.headers["Location"]).text
    dana = db.session.scalars(select(donations.Donation).where(
        donations.Donation.donor_name == "Dana Donor")).all()
    assert all(d.consent_contact for d in dana)
    client.post("/my-gifts/preferences", data={"csrf_token": csrf(client)})
    db.session.expire_all()
    assert not any(d.consent_contact for d in dana)
    noa = db.session.scalar(select(donations.Donation).where(
        donations.Donation.donor_name == "Noa Neighbour"))
    assert noa.consent_contact is False


def test_every_post_needs_the_csrf_token(app, client, db, gifts):
    assert client.post("/my-gifts", data={"email": "dana@example.org"}).status_code == 400
    assert portal_mails(app) == []
    ask(client, "dana@example.org")
    path = link_in(portal_mails(app)[-1])
    assert client.post(path, data={}).status_code == 400
    open_link(client, path)
    assert client.post("/my-gifts/erase", data={"confirm": "y"}).status_code == 400
    assert client.post("/my-gifts/preferences", data={"wants_updates": "y"}).status_code == 400
    assert db.session.scalar(select(donations.Donation.donor_name).where(
        donations.Donation.amount_minor == 2500)) == "Dana Donor"
    # Without a session, the inner forms only say so.
    stranger = app.test_client()
    assert stranger.post("/my-gifts/erase", data={"csrf_token": csrf(stranger),
                                                  "confirm": "y"}).status_code == 403


@pytest.mark.parametrize("email, message", [
    ("", "Please enter the email address you gave with"),
    ("dana@example.org\r\nBcc: victim@example.org", "characters an address cannot have"),
    ("dana@example.org\nX", "characters an address cannot have"),
    ("a" * 10_000 + "@example.org", "too long"),
    ("dana\u202e@example.org", "characters an address cannot have"),
    ("dana\x00@example.org", "characters an address cannot have"),
    ("dana\u0007@example.org", "characters an address cannot have"),
    ("not an address", "does not look like an email address"),
    ("<script>@example.org", "does not look like an email address"),
])
def test_hostile_emails_are_refused_cleanly(app, client, gifts, email, message):
    answer = ask(client, email)
    assert answer.status_code == 422
    assert message in answer.text and "<script>@" not in answer.text
    assert portal_mails(app) == []


def test_odd_requests_never_give_a_500(app, client, gifts):
    token = csrf(client)
    assert client.post("/my-gifts", data={"csrf_token": token,
                                          "email": ["a@example.org", "b@example.org"]}
                       ).status_code in (200, 422)
    assert client.post("/my-gifts", data={"csrf_token": token, "email": "x@" + "é" * 300}
                       ).status_code == 422
    assert client.get("/my-gifts/link/%00").status_code == 400  # a NUL: refused at the edge
    for path in ("/my-gifts/link/..%2F..", "/my-gifts/link/%E2%80%AE"):
        assert client.get(path).status_code == 404
    with client.session_transaction() as s:
        s["donor_portal"] = "1 OR 1=1"
    assert client.get("/my-gifts").status_code == 200
    for forged in (99, "A" * 43, ["x"], "x" * 5000):
        with client.session_transaction() as s:
            s["donor_portal"] = forged
        assert 'name="email"' in client.get("/my-gifts").text


def test_an_ended_session_never_opens_the_next_donors_portal(app, client, gifts):
    """SQLite hands a deleted row's id out again: the cookie names a random
    token, never the row, so Dana's old cookie cannot open Noa's session."""
    ask(client, "dana@example.org")
    open_link(client, link_in(portal_mails(app)[-1]))
    with client.session_transaction() as s:
        old_cookie = s["donor_portal"]
    client.post("/my-gifts/erase", data={"csrf_token": csrf(client), "confirm": "y"})
    noa = app.test_client()
    ask(noa, "noa@example.org")
    open_link(noa, link_in(portal_mails(app)[-1]))
    assert "$77.00" in noa.get("/my-gifts").text
    with client.session_transaction() as s:
        s["donor_portal"] = old_cookie
    page = client.get("/my-gifts")
    assert "$77.00" not in page.text and 'name="email"' in page.text


def test_a_link_opened_twice_at_once_opens_once(app, db, gifts):
    import threading

    from fundraiser.donors import services as portal

    token = portal.issue_link(db.session, "dana@example.org")
    db.session.commit()
    db.session.remove()
    barrier = threading.Barrier(8)
    opened, errors = [], []

    def open_it():
        with app.app_context():
            try:
                barrier.wait()
                result = portal.open_link(db.session, token)
                db.session.commit()
                if result is not None:
                    opened.append(result[1])
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(opened) == 1
    assert portal.current_session(db.session, opened[0]) is not None


def test_an_erasure_shows_at_once_on_a_cached_appeal_page(app, client, db, gifts):
    app.extensions["fundraiser.public_cache"].lifetime = 3600  # cached for an hour
    assert "Dana D." in client.get("/appeals/rivers").text
    ask(client, "dana@example.org")
    open_link(client, link_in(portal_mails(app)[-1]))
    erased = client.post("/my-gifts/erase", data={"csrf_token": csrf(client), "confirm": "y"})
    assert erased.status_code == 200
    assert "Dana" not in client.get("/appeals/rivers").text


def test_erasing_forgets_the_donor_s_signatures_but_they_still_count(app, db, gifts):
    from fundraiser.appeals import signatures
    from fundraiser.appeals.models import Appeal, Signature
    from fundraiser.donors import services as donors

    appeal = db.session.scalar(select(Appeal).where(Appeal.slug == "rivers"))
    appeal.asks_signatures = True
    signed = signatures.sign(db.session, appeal, name="Dana Levi", email="Dana@example.org",
                             country="Chile", comment="For the rivers", consent=True)
    signatures.confirm(db.session, signed.token)
    db.session.commit()
    assert signatures.confirmed_count(db.session, appeal.id) == 1

    donors.erase(db.session, "dana@example.org")
    db.session.commit()
    row = db.session.get(Signature, signed.signature_id)
    assert (row.name, row.country, row.comment, row.consent_contact) == ("", "", "", False)
    assert "dana" not in row.email.lower()
    assert signatures.confirmed_count(db.session, appeal.id) == 1
