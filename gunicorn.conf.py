"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py 'fundraiser:create_app()'`.

Sync workers were the steadiest here (see README, Benchmarks): gthread let one
worker take every keep-alive connection. Each value can be overridden from the
environment, so one file serves every host."""

import multiprocessing
import os

from gunicorn.glogging import Logger

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
# A slow donor's phone must not hold a sync worker for long; put a buffering
# proxy (nginx, the load balancer) in front, as gunicorn's docs advise.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 2
# Recycle workers now and then, with jitter so they do not all restart at once.
# Not often: a worker grows ~8 MB over a whole `make bench` (P7), while a
# restart under load costs seconds of queued requests — at 5,000 every worker
# restarted during the 500 req/s spike, and the spike's p99 was 4 s (P5).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = 10000
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# gunicorn >= 20 sends `Server: gunicorn`, no version; tests/functional/
# test_health.py checks that under this file.


class RedactingLogger(Logger):
    """The access log never holds a one-time secret: the set-password link's
    token is in its path, and query strings (which may carry cursors or
    e-mail addresses) are left out by the format above."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        if atoms.get("U", "").startswith("/staff/set-password/"):
            atoms["U"] = "/staff/set-password/…"
        return atoms


logger_class = RedactingLogger
