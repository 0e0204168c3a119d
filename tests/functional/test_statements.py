"""`flask --app fundraiser send-statements YEAR`: one annual statement per
donor email, every gift of the year listed and refunds deducted, sent as
jobs; run twice it sends nothing the second time; a year that is not over
(or not a year at all) is refused with a sentence saying which to use."""

from datetime import datetime

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select, update

from fundraiser import jobs
from fundraiser.appeals import services as appeals
from fundraiser.donations.models import StatementSent
from fundraiser.payments import services as payments
from fundraiser.payments import states
from fundraiser.payments.models import Payment, utcnow
from tests.conftest import make_app
from tests.factories import create_appeal, create_donation
from tests.pdfs import attachments, pdf_text

YEAR = 2025


def gift(db, appeal, amount_minor, email, when, *, refund=0, status=states.SUCCEEDED,
         locale="en"):
    donation = create_donation(db.session, appeal, amount_minor=amount_minor, email=email,
                               name="Dana Levi" if email.startswith("dana") else "Eli Cohen",
                               locale=locale)
    db.session.flush()
    if status == states.SUCCEEDED:
        payments.transition_to(db.session, donation.payment_id, states.SUCCEEDED)
        db.session.execute(update(Payment).where(Payment.id == donation.payment_id)
                           .values(succeeded_at=when))
        if refund:
            payments.apply_refund_total(db.session, donation.payment_id, refund)
    db.session.commit()
    return donation


@pytest.fixture
def year_of_gifts(app, db):
    usd = create_appeal(db.session, slug="bread", title="Bread and roses")
    ils = create_appeal(db.session, slug="shekel", title="Shekel appeal", currency="ILS")
    jpy = create_appeal(db.session, slug="yen", title="Yen appeal", currency="JPY")
    gift(db, usd, 2500, "dana@example.org", datetime(YEAR, 1, 3, 9))
    gift(db, usd, 5000, "dana@example.org", datetime(YEAR, 6, 1, 12), refund=1000)
    gift(db, usd, 3000, "dana@example.org", datetime(YEAR, 7, 1, 12), refund=3000)
    gift(db, ils, 10000, "dana@example.org", datetime(YEAR, 12, 31, 23, 59))
    gift(db, usd, 99900, "dana@example.org", datetime(YEAR - 1, 12, 31, 23, 59))  # last year
    gift(db, usd, 77700, "dana@example.org", datetime(YEAR + 1, 1, 1, 0, 0))      # next year
    gift(db, usd, 4400, "dana@example.org", None, status=states.CREATED)         # never paid
    gift(db, jpy, 5000, "eli@example.org", datetime(YEAR, 3, 3, 3))
    gift(db, usd, 1500, "gone@example.org", datetime(YEAR, 4, 4, 4), refund=1500)  # all back
    app.extensions["mailman"].outbox.clear()  # the receipts


def statements(app):
    """The statements sent, by address (a mail with a statement PDF)."""
    return {m.to[0]: m for m in getattr(app.extensions["mailman"], "outbox", [])
            if any(name.startswith("statement-") for name in attachments(m))}


def test_each_donor_gets_one_statement_of_the_year_with_refunds_deducted(
        app, db, runner, year_of_gifts):
    result = runner.invoke(args=["send-statements", str(YEAR)])
    assert result.exit_code == 0, result.output
    assert "2 statement(s) for 2025 queued." in result.output

    sent = statements(app)
    assert sorted(sent) == ["dana@example.org", "eli@example.org"]  # not the fully refunded
    dana = sent["dana@example.org"]
    assert dana.subject == "Your gifts in 2025: your annual statement"
    assert "Total given in USD: $65.00" in dana.body
    assert list(attachments(dana)) == ["statement-2025.pdf"]
    text = pdf_text(attachments(dana)["statement-2025.pdf"])
    assert "Annual statement 2025" in text and "Dana Levi" in text
    # Every gift of the year, as given, and what came back.
    for shown in ("$25.00", "$50.00", "$10.00", "$30.00", "₪100.00", "Jan 3, 2025",
                  "Dec 31, 2025"):
        assert shown in text, shown
    # 25 + (50 − 10) + (30 − 30) = 65; shekels on their own line.
    assert "Total given in USD $65.00" in text.replace(":", "")
    assert "Total given in ILS ₪100.00" in text
    assert "$999.00" not in text and "$777.00" not in text and "$44.00" not in text
    eli = pdf_text(attachments(sent["eli@example.org"])["statement-2025.pdf"])
    assert "Total given in JPY ¥5,000" in eli and "¥5,000.00" not in eli


def test_running_it_again_sends_nothing(app, db, runner, year_of_gifts):
    assert runner.invoke(args=["send-statements", str(YEAR)]).exit_code == 0
    outbox = app.extensions["mailman"].outbox
    before = len(outbox)
    again = runner.invoke(args=["send-statements", str(YEAR)])
    assert again.exit_code == 0
    assert "0 statement(s) for 2025 queued; 2 sent before, not again." in again.output
    assert len(outbox) == before == 2
    db.session.rollback()
    rows = db.session.scalars(select(StatementSent).order_by(StatementSent.email)).all()
    assert [(r.email, r.year, r.sent_at is not None) for r in rows] == [
        ("dana@example.org", 2025, True), ("eli@example.org", 2025, True)]


def test_a_new_donor_of_that_year_added_later_gets_theirs_and_no_one_else_again(
        app, db, runner, year_of_gifts):
    runner.invoke(args=["send-statements", str(YEAR)])
    late = create_appeal(db.session, slug="late", title="Late entry")
    gift(db, late, 2000, "noa@example.org", datetime(YEAR, 11, 11))  # an offline gift, say
    app.extensions["mailman"].outbox.clear()
    result = runner.invoke(args=["send-statements", str(YEAR)])
    assert "1 statement(s) for 2025 queued; 2 sent before, not again." in result.output
    assert list(statements(app)) == ["noa@example.org"]


def test_a_statement_whose_mail_failed_is_sent_by_a_later_run(app, db, runner, monkeypatch,
                                                               year_of_gifts):
    from datetime import timedelta

    from flask_mailman import EmailMessage

    real_send = EmailMessage.send

    def mail_server_down_for_dana(message, *args, **kwargs):
        if message.to == ["dana@example.org"]:
            raise ConnectionRefusedError("mail server down")
        return real_send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", mail_server_down_for_dana)
    runner.invoke(args=["send-statements", str(YEAR)])  # inline: the failure is logged
    assert list(statements(app)) == ["eli@example.org"]
    monkeypatch.setattr(EmailMessage, "send", real_send)

    # Straight away it may still be on its way (a queue retries): not again.
    soon = runner.invoke(args=["send-statements", str(YEAR)])
    assert "0 statement(s) for 2025 queued; 2 sent before, not again." in soon.output
    # An hour on, never sent: queued again, and only that one.
    db.session.rollback()
    db.session.execute(update(StatementSent).values(queued_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    app.extensions["mailman"].outbox.clear()
    later = runner.invoke(args=["send-statements", str(YEAR)])
    assert ("0 statement(s) for 2025 queued; 1 never sent, queued again; "
            "1 sent before, not again.") in later.output
    assert list(statements(app)) == ["dana@example.org"]
    assert "Total given in USD: $65.00" in statements(app)["dana@example.org"].body
    # …and once sent, it is never sent again however old its row.
    db.session.rollback()
    db.session.execute(update(StatementSent).values(queued_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    runner.invoke(args=["send-statements", str(YEAR)])
    assert list(statements(app)) == ["dana@example.org"]


def test_offline_gifts_count_and_invented_demo_gifts_do_not(app, db, runner):
    from datetime import date

    from fundraiser.money import Money
    from fundraiser.staff.offline_services import record_offline_gift

    appeal = create_appeal(db.session)
    for email, demo in (("cheque@example.org", False), ("invented@example.org", True)):
        record_offline_gift(db.session, appeal=appeal, amount=Money(12000, "USD"), name="Ruth",
                            email=email, method="cheque", received_on=date(YEAR, 3, 1),
                            actor=None, is_demo=demo, created_at=datetime(YEAR, 3, 1, 10))
    db.session.commit()
    result = runner.invoke(args=["send-statements", str(YEAR)])
    assert "1 statement(s) for 2025 queued." in result.output
    [mail] = statements(app).values()
    assert mail.to == ["cheque@example.org"]
    assert "$120.00" in pdf_text(attachments(mail)["statement-2025.pdf"])


@pytest.mark.parametrize("year, says", [
    ("2026", "2026 is not over yet: its statements can be sent from 1 January 2027"),
    ("2031", "2031 is not a year with gifts: give a year from 2000 to 2025"),
    ("1999", "1999 is not a year with gifts: give a year from 2000 to 2025"),
    ("last", "'last' is not a valid integer"),
])
def test_a_bad_year_is_refused_and_nothing_is_sent(app, db, runner, year_of_gifts, year,
                                                  says):
    result = runner.invoke(args=["send-statements", year])
    assert result.exit_code != 0
    assert says in result.output
    assert statements(app) == {}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(StatementSent)) == 0


def test_a_year_without_gifts_says_so(app, runner):
    result = runner.invoke(args=["send-statements", "2010"])
    assert result.exit_code == 0
    assert "No gifts in 2010: no statements to send." in result.output


def test_a_hebrew_donor_s_statement_is_in_hebrew(app, db, runner):
    appeal = create_appeal(db.session, slug="bread", title="Bread and roses", currency="ILS")
    appeals.save_translation(db.session, appeal, "he", languages=app.config["LANGUAGES"],
                             title="לחם ושושנים", summary="תקציר", story_md="סיפור.")
    gift(db, appeal, 18000, "dana@example.org", datetime(YEAR, 5, 4), locale="he")
    runner.invoke(args=["send-statements", str(YEAR)])
    mail = statements(app)["dana@example.org"]
    assert mail.subject == "התרומות שלך בשנת 2025: הסיכום השנתי"
    text = pdf_text(attachments(mail)["statement-2025.pdf"])
    # (the text layer keeps a number beside Hebrew in the order it is drawn)
    assert "סיכום שנתי" in text and "לחם ושושנים" in text and "180.00" in text
    assert "Annual statement" not in text


def test_with_a_job_queue_the_statements_wait_for_a_worker(database_url, redis_jobs):
    from tests.conftest import REDIS_JOBS_URL

    app = make_app(database_url, REDIS_URL=REDIS_JOBS_URL, JOB_RETRY_INTERVALS=[0, 0])
    with app.app_context():
        from fundraiser.extensions import db

        appeal = create_appeal(db.session)
        gift(db, appeal, 2500, "dana@example.org", datetime(YEAR, 2, 2))
        SimpleWorker(jobs.queues(), connection=redis_jobs).work(burst=True)  # the receipt
        app.extensions["mailman"].outbox.clear()
        result = app.test_cli_runner().invoke(args=["send-statements", str(YEAR)])
        assert "1 statement(s) for 2025 queued." in result.output
        assert jobs.queue(name=jobs.MAIL_QUEUE_NAME).count == 1 and statements(app) == {}
        db.session.rollback()
        SimpleWorker(jobs.queues(), connection=redis_jobs).work(burst=True)
        assert list(statements(app)) == ["dana@example.org"]
        db.session.remove()
        db.engine.dispose()


def test_a_donor_who_erased_their_data_gets_no_statement(app, db, runner, year_of_gifts):
    from fundraiser.donors import services as donors

    donors.erase(db.session, "dana@example.org")
    db.session.commit()
    result = runner.invoke(args=["send-statements", str(YEAR)])
    assert result.exit_code == 0, result.output
    assert sorted(statements(app)) == ["eli@example.org"]
