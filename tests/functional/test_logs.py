"""Log lines a person on call can use: one JSON object per line in
production, each carrying the id of the request that wrote it."""

import json
import logging

from fundraiser.logs import JsonFormatter, RequestIdFilter


def _capture(app, log_format):
    app.config["LOG_FORMAT"] = log_format
    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Keep()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(
        "%(request_id)s %(message)s"))
    return lines, handler


def test_every_response_carries_a_request_id_and_logs_use_it(app, client):
    lines, handler = _capture(app, "json")

    @app.get("/_probe_log")
    def _probe():
        logging.getLogger("fundraiser.probe").warning("probe says \"hi\"\nsecond line")
        return "ok"

    logging.getLogger().addHandler(handler)
    try:
        response = client.get("/_probe_log")
    finally:
        logging.getLogger().removeHandler(handler)
    request_id = response.headers["X-Request-Id"]
    assert len(request_id) == 32
    entries = [json.loads(line) for line in lines]  # one object per line, newlines escaped
    probe = [e for e in entries if e["logger"] == "fundraiser.probe"]
    assert probe == [{**probe[0], "message": 'probe says "hi"\nsecond line',
                      "request_id": request_id, "level": "WARNING"}]


def test_a_proxys_request_id_is_kept_and_a_hostile_one_replaced(client):
    kept = client.get("/healthz", headers={"X-Request-Id": "lb-1234abcd"})
    assert kept.headers["X-Request-Id"] == "lb-1234abcd"
    hostile = client.get("/healthz", headers={"X-Request-Id": "x\" injected <script>"})
    assert hostile.headers["X-Request-Id"] != "x\" injected <script>"
    assert len(hostile.headers["X-Request-Id"]) == 32
