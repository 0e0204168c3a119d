"""Sign-on under real concurrency (SQLite, and PostgreSQL when DATABASE_URL
is set): eight people sign with one address at once → one row, and its
link, opened by eight requests at once, confirms it once."""

from sqlalchemy import func, select

from fundraiser.appeals import signatures
from fundraiser.appeals.models import Signature
from tests.factories import create_appeal
from tests.support import in_threads


def test_eight_signings_with_one_address_at_once_make_one_signature(app, db):
    appeal = create_appeal(db.session, signatures=(True, None))
    appeal_id = appeal.id
    tokens = []

    def sign(i):
        from fundraiser.appeals.models import Appeal

        signed = signatures.sign(db.session, db.session.get(Appeal, appeal_id),
                                 name=f"Signer {i}", email="Same@Example.org")
        tokens.append(signed.token)

    assert in_threads(app, db, sign, list(range(8))) == []
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
    # Exactly one of the links (the last written) still works.
    confirmed = []

    def confirm(token):
        if signatures.confirm(db.session, token) is not None:
            confirmed.append(token)

    assert in_threads(app, db, confirm, tokens) == []
    assert len(confirmed) == 1
    assert signatures.confirmed_count(db.session, appeal_id) == 1


def test_one_link_opened_by_eight_requests_at_once_confirms_once(app, db):
    appeal = create_appeal(db.session, signatures=(True, None))
    token = signatures.sign(db.session, appeal, name="Noa", email="noa@example.org").token
    appeal_id = appeal.id
    wins = []

    def confirm(_):
        if signatures.confirm(db.session, token) is not None:
            wins.append(1)

    assert in_threads(app, db, confirm, list(range(8))) == []
    assert wins == [1]
    assert signatures.confirmed_count(db.session, appeal_id) == 1
