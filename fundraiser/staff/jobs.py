"""The job queue, for admins: how many jobs wait, run and are being retried,
and the failed ones with their error and a retry button (audited)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import jobs
from ..extensions import db
from . import services
from .auth import client_ip, staff_view
from .blueprint import bp
from .forms import ActionForm
from .models import MANAGE_JOBS

FAILED_SHOWN = 100
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _failed_jobs(queues):
    """The newest failed jobs of every queue (at most FAILED_SHOWN), and how
    many failed in all."""
    shown = []
    for queue in queues:
        shown += _failed_in(queue)
    shown.sort(key=lambda f: f["failed_at"] or datetime.min.replace(tzinfo=UTC), reverse=True)
    return shown[:FAILED_SHOWN], sum(q.failed_job_registry.count for q in queues)


def _failed_in(queue):
    from rq.job import Job

    ids = queue.failed_job_registry.get_job_ids(0, FAILED_SHOWN - 1)
    shown = []
    for found in Job.fetch_many(ids, connection=queue.connection):
        if found is None:  # expired between the two calls
            continue
        result = found.latest_result()
        error = (result.exc_string or "") if result is not None else ""
        last_line = error.strip().splitlines()[-1] if error.strip() else ""
        shown.append({
            "id": found.id, "func": found.func_name, "args": found.args,
            "failed_at": found.ended_at.replace(tzinfo=UTC) if found.ended_at else None,
            "error": last_line, "traceback": error,
            "request_id": found.meta.get("request_id"),
        })
    return shown


@bp.get("/jobs")
@staff_view(MANAGE_JOBS)
def jobs_page():
    queues = jobs.queues()
    if not queues:
        return render_template("staff/jobs.html", queue=None)
    failed, failed_count = _failed_jobs(queues)
    return render_template(
        "staff/jobs.html", queue=queues[0], queued=sum(q.count for q in queues),
        queued_mail=jobs.queue(name=jobs.MAIL_QUEUE_NAME).count,
        running=sum(q.started_job_registry.count for q in queues),
        retrying=sum(q.scheduled_job_registry.count for q in queues),
        failed=failed, failed_count=failed_count, form=ActionForm())


@bp.post("/jobs/<job_id>/retry")
@staff_view(MANAGE_JOBS)
def retry_job(job_id):
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Try again."), "error")
        return redirect(url_for("staff.jobs_page"))
    registry = next((q.failed_job_registry for q in jobs.queues()
                     if _JOB_ID.match(job_id) and job_id in q.failed_job_registry), None)
    if registry is None:
        flash(_("That job is not among the failed jobs any more: it may have been "
                "retried already."), "error")
        return redirect(url_for("staff.jobs_page"))
    registry.requeue(job_id)
    services.audit(db.session, current_user, "jobs.retried", "job", job_id, ip=client_ip())
    db.session.commit()
    flash(_("The job is queued again."), "success")
    return redirect(url_for("staff.jobs_page"))
