"""Staff see one appeal's signatures (issue 19): confirmed and pending,
searched by name or email, page by page (hostile page numbers never a 500),
exported as CSV with formula cells neutralised, and an abusive one removed
(audited; the public count drops at once). Both databases."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from fundraiser.appeals import signatures
from fundraiser.appeals.models import Signature
from fundraiser.staff.models import AuditEvent
from tests.factories import create_appeal


@pytest.fixture
def petition(db):
    appeal = create_appeal(db.session, slug="test-appeal", signatures=(True, 500))
    db.session.commit()
    return appeal


def add(db, appeal, name, email, confirmed=True, **kw):
    signed = signatures.sign(db.session, appeal, name=name, email=email, **kw)
    if confirmed:
        signatures.confirm(db.session, signed.token)
    db.session.commit()
    return db.session.get(Signature, signed.signature_id)


def api_count(client):
    return client.get("/api/v1/appeals/test-appeal").get_json()["signatures"]["count"]


def test_the_list_shows_confirmed_and_pending_and_searches(db, petition, staff_client):
    add(db, petition, "Noa Levi", "noa@example.org")
    add(db, petition, "Omar Haddad", "omar@example.net", confirmed=False)
    other = create_appeal(db.session, slug="other", signatures=(True, None))
    add(db, other, "Elsewhere Person", "else@example.org")
    viewer = staff_client("viewer")
    page = viewer.get(f"/staff/appeals/{petition.id}/signatures")
    assert page.status_code == 200
    assert "Noa Levi" in page.text and "Omar Haddad" in page.text
    assert "Elsewhere Person" not in page.text           # another appeal's
    assert "1 signature counts on the appeal." in page.text
    assert "<td>Not confirmed yet</td>" in page.text and "<td>Confirmed</td>" in page.text
    assert "/remove" not in page.text and "Download as CSV" not in page.text  # a viewer's
    found = viewer.get(f"/staff/appeals/{petition.id}/signatures?q=EXAMPLE.NET")
    assert "Omar Haddad" in found.text and "Noa Levi" not in found.text
    by_name = viewer.get(f"/staff/appeals/{petition.id}/signatures?q=levi")
    assert "Noa Levi" in by_name.text and "Omar Haddad" not in by_name.text
    pending = viewer.get(f"/staff/appeals/{petition.id}/signatures?state=pending")
    assert "Omar Haddad" in pending.text and "Noa Levi" not in pending.text
    # LIKE wildcards are searched as text, not patterns
    assert "No signatures found." in viewer.get(
        f"/staff/appeals/{petition.id}/signatures?q=%25").text


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999999999999", "²", "١٢",
                                  "1e9", "", "2147483648", "3"])
def test_hostile_page_numbers_give_a_page_never_an_error(db, petition, staff_client, page):
    add(db, petition, "Noa Levi", "noa@example.org")
    viewer = staff_client("viewer")
    response = viewer.get(f"/staff/appeals/{petition.id}/signatures?page={page}&state=x"
                          f"&q={'q' * 500}")
    assert response.status_code == 200
    assert "No signatures found." in response.text  # the over-long search matched nothing


def test_pages_of_fifty(db, petition, staff_client):
    for i in range(51):
        signatures.sign(db.session, petition, name=f"Signer {i:02d}", email=f"s{i}@example.org")
    db.session.commit()
    viewer = staff_client("viewer")
    first = viewer.get(f"/staff/appeals/{petition.id}/signatures")
    assert "Page 1 of 2" in first.text and "Signer 50" in first.text
    assert ">Signer 00<" not in first.text
    second = viewer.get(f"/staff/appeals/{petition.id}/signatures?page=2")
    assert ">Signer 00<" in second.text and "Page 2 of 2" in second.text
    past = viewer.get(f"/staff/appeals/{petition.id}/signatures?page=40")
    assert "Page 2 of 2" in past.text


def test_an_unknown_appeal_is_not_found(staff_client, db):
    viewer = staff_client("viewer")
    assert viewer.get("/staff/appeals/99999/signatures").status_code == 404
    assert viewer.get("/staff/appeals/99999999999/signatures").status_code == 404


def test_the_csv_has_every_signature_with_formulas_neutralised(db, petition, staff_client):
    add(db, petition, "=HYPERLINK(\"http://evil\")", "evil@example.org",
        comment="+cmd|' /C calc'!A0", country="＝1+1")
    add(db, petition, "Noa Levi", "noa@example.org", confirmed=False, consent=True)
    finance = staff_client("finance")
    response = finance.get(f"/staff/appeals/{petition.id}/signatures.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "signatures-test-appeal.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["email"] for r in rows] == ["evil@example.org", "noa@example.org"]
    evil, noa = rows
    assert evil["name"] == "'=HYPERLINK(\"http://evil\")"
    assert evil["comment"].startswith("'+") and evil["country"] == "'＝1+1"
    assert evil["state"] == "confirmed" and evil["confirmed_at"]
    assert (noa["state"], noa["consent_contact"], noa["confirmed_at"]) == ("pending", "yes", "")
    only = finance.get(f"/staff/appeals/{petition.id}/signatures.csv?q=noa")
    assert len(list(csv.DictReader(io.StringIO(only.text)))) == 1
    assert db.session.scalar(select(AuditEvent.action).where(
        AuditEvent.action == "export.signatures")) == "export.signatures"


def test_removing_an_abusive_signature_drops_the_count(client, db, petition, staff_client):
    abusive = add(db, petition, "Slur Person", "troll@example.org")
    add(db, petition, "Noa Levi", "noa@example.org")
    assert api_count(client) == 2
    assert "2 of 500 signatures" in client.get("/appeals/test-appeal").text
    editor = staff_client("editor")
    page = editor.get(f"/staff/appeals/{petition.id}/signatures")
    assert f"/signatures/{abusive.id}/remove" in page.text
    done = editor.post(f"/staff/appeals/{petition.id}/signatures/{abusive.id}/remove?q=troll",
                       {})
    assert done.status_code == 303 and "q=troll" in done.headers["Location"]
    assert api_count(client) == 1
    assert "1 of 500 signatures" in client.get("/appeals/test-appeal").text
    listed = editor.get(done.headers["Location"])
    assert "Removed the signature of Slur Person." in listed.text
    assert "<td>Removed</td>" in listed.text
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "signature.removed"))
    assert event.actor_email == "editor@example.org" and event.target_id == str(abusive.id)
    assert json.loads(event.details)["email"] == "troll@example.org"
    # Twice: nothing more happens; and the address cannot sign again.
    editor.post(f"/staff/appeals/{petition.id}/signatures/{abusive.id}/remove", {})
    assert len(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "signature.removed")).all()) == 1
    again = signatures.sign(db.session, petition, name="Slur Person", email="troll@example.org")
    assert again.token is None
    db.session.commit()
    assert api_count(client) == 1


def test_another_appeals_signature_cannot_be_removed_through_this_one(
        client, db, petition, staff_client):
    other = create_appeal(db.session, slug="other", signatures=(True, None))
    theirs = add(db, other, "Elsewhere Person", "else@example.org")
    editor = staff_client("editor")
    response = editor.post(f"/staff/appeals/{petition.id}/signatures/{theirs.id}/remove", {})
    assert response.status_code == 404
    db.session.rollback()
    assert db.session.get(Signature, theirs.id).removed_at is None


def test_removing_drops_a_cached_count(app, client, db, petition, staff_client, monkeypatch):
    from cachelib import SimpleCache

    from fundraiser.cache import PublicCache

    monkeypatch.setitem(app.extensions, "fundraiser.public_cache",
                        PublicCache(SimpleCache(), 3600))
    abusive = add(db, petition, "Slur Person", "troll@example.org")
    assert api_count(client) == 1       # cached now
    editor = staff_client("editor")
    editor.post(f"/staff/appeals/{petition.id}/signatures/{abusive.id}/remove", {})
    assert api_count(client) == 0
