"""Failed jobs, for admins: retried with back-off, then shown with their
error; the retry button puts one back on the queue (and is audited)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fundraiser import jobs
from fundraiser.extensions import db
from fundraiser.staff.models import AuditEvent
from tests import support


@pytest.fixture
def app(queued_app):
    return queued_app


def run_burst_worker():
    support.run_burst_worker(db)


def test_a_failing_job_waits_with_back_off_before_its_retry(app, staff_client):
    app.config["JOB_RETRY_INTERVALS"] = [60, 300]
    jobs.enqueue(support.failing_job, "receipt 7")
    run_burst_worker()
    queue = jobs.queue()
    assert queue.count == 0 and queue.failed_job_registry.count == 0
    assert queue.scheduled_job_registry.count == 1  # the retry waits a minute
    page = staff_client("admin").get("/staff/jobs").data.decode()
    assert 'id="jobs-retrying">1<' in page and 'id="jobs-failed">0<' in page


def test_a_job_that_keeps_failing_is_shown_to_admins_and_can_be_retried(app, staff_client):
    jobs.enqueue(support.failing_job, "receipt 7")
    run_burst_worker()  # the first run and its two retries all fail
    queue = jobs.queue()
    assert queue.failed_job_registry.count == 1 and queue.count == 0

    assert staff_client("finance", "f@example.org").get("/staff/jobs").status_code == 403
    admin = staff_client("admin")
    page = admin.get("/staff/jobs").data.decode()
    assert "tests.support.failing_job" in page
    assert "RuntimeError: the partner service refused receipt 7" in page
    assert 'id="jobs-failed">1<' in page

    [job_id] = queue.failed_job_registry.get_job_ids()
    assert admin.post(f"/staff/jobs/{job_id}/retry", csrf=False).status_code == 400
    assert queue.count == 0
    retried = admin.post(f"/staff/jobs/{job_id}/retry")
    assert retried.status_code == 302
    assert "The job is queued again." in admin.get("/staff/jobs").data.decode()
    assert queue.count == 1 and queue.failed_job_registry.count == 0
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent.target_id)
                             .where(AuditEvent.action == "jobs.retried")) == job_id

    again = admin.post(f"/staff/jobs/{job_id}/retry")  # a second click: nothing to retry
    assert "not among the failed jobs" in admin.get(again.headers["Location"]).data.decode()
    assert queue.count == 1


def test_a_failed_mail_job_is_shown_and_retried_on_the_same_page(app, staff_client):
    """Receipts and letters wait on their own queue; their failures are
    counted, shown and retried beside the money jobs'."""
    jobs.enqueue(support.failing_job, "reconcile")
    jobs.enqueue(support.failing_mail_job, "receipt 9")
    run_burst_worker()
    mail = jobs.queue(name=jobs.MAIL_QUEUE_NAME)
    assert mail.failed_job_registry.count == 1 and jobs.queue().failed_job_registry.count == 1
    admin = staff_client("admin")
    page = admin.get("/staff/jobs").data.decode()
    assert 'id="jobs-failed">2<' in page
    assert "RuntimeError: the mail service refused receipt 9" in page
    assert "RuntimeError: the partner service refused reconcile" in page
    [job_id] = mail.failed_job_registry.get_job_ids()
    assert admin.post(f"/staff/jobs/{job_id}/retry").status_code == 302
    assert mail.count == 1 and mail.failed_job_registry.count == 0
    assert jobs.queue().failed_job_registry.count == 1  # the other stays failed
    page = admin.get("/staff/jobs").data.decode()
    assert 'id="jobs-queued">1<' in page and 'id="jobs-failed">1<' in page
    assert 'id="jobs-queued-mail">1<' in page  # what waits is mail, not money
