"""Mail through a real SMTP server on loopback (aiosmtpd): what a donor's
mail server receives — the receipt with its PDF, a Hebrew subject, the
portal's magic link that then opens the portal — and a mail server that is
down: the mail job fails, waits among the failed jobs, and goes out once
when retried."""

from __future__ import annotations

import re

from rq.registry import FailedJobRegistry

from fundraiser import jobs
from fundraiser.appeals.services import save_translation
from fundraiser.extensions import db
from fundraiser.payments import services as payments
from fundraiser.payments import states
from tests import support
from tests.conftest import REDIS_JOBS_URL, _FreshContextClient, app_with
from tests.factories import create_appeal, create_donation
from tests.pdfs import pdf_text
from tests.smtp import body_text, pdf_attachments

ORG = {"ORG_NAME": "Bread and Roses Fund", "ORG_ADDRESS": "12 Herzl St, Tel Aviv",
       "ORG_REGISTRATION": "580123456", "RECEIPT_NUMBER_PREFIX": "BR-",
       "RECEIPT_PDF_ATTACHED": True}


def succeed(gift):
    db.session.commit()
    payments.transition_to(db.session, gift.payment_id, states.SUCCEEDED)
    db.session.commit()


def test_a_hebrew_receipt_arrives_with_its_subject_body_and_pdf(database_url, smtp_inbox):
    with app_with(database_url, **smtp_inbox.config(), **ORG):
        appeal = create_appeal(db.session, slug="rivers", title="Clean rivers", currency="ILS")
        save_translation(db.session, appeal, "he", languages=("en", "he"), title="נהרות נקיים")
        gift = create_donation(db.session, appeal, amount_minor=18_000, email="dana@example.org",
                               name="Dana Levi", locale="he")
        succeed(gift)
        smtp_inbox.wait_for(1)

    [message] = smtp_inbox.to("dana@example.org")
    assert "נהרות נקיים" in message["Subject"]          # RFC 2047 decoded back to Hebrew
    assert "180" in body_text(message)
    [(name, pdf)] = pdf_attachments(message).items()
    assert name == "receipt-BR-000001.pdf"
    text = pdf_text(pdf)
    assert "BR-000001" in text and "580123456" in text and "180" in text


def test_the_portal_link_that_arrives_by_smtp_opens_the_portal(database_url, smtp_inbox):
    with app_with(database_url, **smtp_inbox.config()) as app:
        appeal = create_appeal(db.session, slug="schools", title="Open schools")
        succeed(create_donation(db.session, appeal, amount_minor=2_500, email="noa@example.org",
                                name="Noa Neighbour"))
        app.test_client_class = _FreshContextClient
        client = app.test_client()
        page = client.get("/my-gifts")
        token = re.search(rb'name="csrf-token" content="([^"]+)"', page.data).group(1).decode()
        client.post("/my-gifts", data={"csrf_token": token, "email": "noa@example.org"})
        smtp_inbox.wait_for(2)  # the receipt, then the link

        [link_mail] = [m for m in smtp_inbox.to("noa@example.org")
                       if "/my-gifts/link/" in body_text(m)]
        path = re.search(r"https?://[^/\s]+(/my-gifts/link/[A-Za-z0-9_-]+)",
                         body_text(link_mail)).group(1)
        opened = client.get(path)
        token = re.search(rb'name="csrf-token" content="([^"]+)"', opened.data).group(1).decode()
        assert client.post(path, data={"csrf_token": token}).status_code == 303
        portal = client.get("/my-gifts")
        assert "Open schools" in portal.text and "$25.00" in portal.text


def run_worker():
    support.run_burst_worker(db)


def test_a_mail_server_that_is_down_delays_the_receipt_and_a_retry_sends_it_once(
        database_url, smtp_inbox, redis_jobs):
    with app_with(database_url, **smtp_inbox.config(), REDIS_URL=REDIS_JOBS_URL,
                  JOB_RETRY_INTERVALS=[]):
        appeal = create_appeal(db.session, slug="bread", title="Bread")
        gift = create_donation(db.session, appeal, amount_minor=1_000, email="ali@example.org")
        succeed(gift)
        smtp_inbox.go_down()  # the mail server stops answering
        try:
            run_worker()
        finally:
            smtp_inbox.start()
        mail = jobs.queue(name=jobs.MAIL_QUEUE_NAME)  # receipts wait there, not before money
        failed = FailedJobRegistry(queue=mail)
        [job_id] = failed.get_job_ids()
        assert "Connection refused" in mail.fetch_job(job_id).latest_result().exc_string
        assert smtp_inbox.messages == []

        failed.requeue(job_id)  # what the staff jobs page's Retry button does
        run_worker()
        smtp_inbox.wait_for(1)
        run_worker()  # nothing left to send twice
    assert [rcpt for rcpt, _ in smtp_inbox.messages] == [["ali@example.org"]]
