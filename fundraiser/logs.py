"""Logging: one line per event, with the request id that ties the lines of
one request together (and, later, the jobs it starts).

`LOG_FORMAT=json` (production) writes one JSON object per line, for a log
collector; `text` (the embedded run) stays readable in a terminal. The
request id is the `X-Request-Id` a trusted proxy set, when it looks like an
id, or a new random one; it is echoed in the response so a donor's "it went
wrong" can be found in the logs.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_app_context, request

REQUEST_ID_HEADER = "X-Request-Id"
# Ids from outside are accepted only in a plain shape: nothing that could
# forge a second log line or smuggle markup into a log viewer.
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_from(given: str) -> str:
    """The id a request goes by: the one it came with when it looks like
    one, else a new one."""
    return given if _VALID_ID.match(given or "") else uuid.uuid4().hex


def current_request_id() -> str | None:
    """The request's id, or, in a job, the id of the request that queued it."""
    if has_app_context():
        return g.get("request_id")
    return None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure(app: Flask) -> None:
    """Install the root handler once per process (create_app may run many
    times in tests) and the request-id hooks on this app."""
    root = logging.getLogger()
    if not any(getattr(h, "_fundraiser", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler._fundraiser = True
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        # fontTools narrates every font subset at INFO: ~40 lines per PDF.
        logging.getLogger("fontTools").setLevel(logging.WARNING)
    for handler in root.handlers:
        if getattr(handler, "_fundraiser", False):
            handler.setFormatter(JsonFormatter() if app.config.get("LOG_FORMAT") == "json"
                                 else logging.Formatter(TEXT_FORMAT))

    @app.before_request
    def _assign_request_id():
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER, ""))

    @app.after_request
    def _echo_request_id(response):
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        return response
