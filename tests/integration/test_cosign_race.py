"""Co-sign requests under real concurrency (SQLite, and PostgreSQL when
DATABASE_URL is set): eight requests for one organisation at once (same
name, or same address) → one row; its link, opened by eight requests at
once, confirms it once; two staff approving at once list it once."""

from datetime import timedelta

from sqlalchemy import func, select

from fundraiser.appeals import cosign
from fundraiser.appeals.models import Appeal, Cosigner, CosignRequest
from tests.factories import create_appeal
from tests.integration.test_receipt_numbers import in_threads

WEEK = timedelta(days=7)


def _count(db, model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_eight_requests_for_one_organisation_at_once_make_one_row(app, db):
    appeal_id = create_appeal(db.session, signatures=(True, None)).id
    db.session.commit()
    tokens = []

    def ask(i):
        # half by the same name (another case), half by the same address
        name = "Bakers for Peace" if i % 2 else "BAKERS  for peace"
        email = f"person{i}@bakers.example.org" if i % 2 else "office@bakers.example.org"
        asked = cosign.ask(db.session, db.session.get(Appeal, appeal_id), name=name,
                           email=email)
        tokens.append(asked.token)

    assert in_threads(app, db, ask, list(range(8))) == []
    assert _count(db, CosignRequest) == 1
    confirmed = []

    def confirm(token):
        if token and cosign.confirm(db.session, token, WEEK) is not None:
            confirmed.append(token)

    assert in_threads(app, db, confirm, tokens) == []
    assert len(confirmed) == 1
    assert db.session.scalar(select(CosignRequest.status)) == "waiting"


def test_two_approvals_at_once_list_the_organisation_once(app, db):
    appeal = create_appeal(db.session, signatures=(True, None))
    token = cosign.ask(db.session, appeal, name="Bakers for Peace",
                       email="office@bakers.example.org").token
    row = cosign.confirm(db.session, token, WEEK)
    db.session.commit()
    row_id = row.id
    wins = []

    def approve(who):
        try:
            cosign.approve(db.session, db.session.get(CosignRequest, row_id), who)
            wins.append(who)
        except cosign.CosignError:
            pass

    assert in_threads(app, db, approve, ["a@example.org", "b@example.org"]) == []
    assert len(wins) == 1
    assert _count(db, Cosigner) == 1
