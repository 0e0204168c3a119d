"""Faults for the failure tests: a loopback proxy in front of localstripe that
loses or holds answers, and the app run as a process that can be killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from tests import support


class FaultyProxy:
    """Forwards every request to localstripe. A rule (method, path prefix,
    fault) applies to the first matching request only: the request reaches
    localstripe (so it takes effect), then its answer is
    - "drop": never sent: the connection is closed, as by a network failure;
    - "hold": kept back until `release()` (meanwhile the caller may die).
    Every request is logged as (method, path, Idempotency-Key)."""

    def __init__(self, upstream: str, rules: list[tuple[str, str, str]]):
        self.upstream = upstream.rstrip("/")
        self.rules = list(rules)
        self.log: list[tuple[str, str, str | None]] = []
        self.reached = threading.Event()     # a held request has reached upstream
        self._release = threading.Event()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?")[0]
                with proxy._lock:
                    proxy.log.append((self.command, path, self.headers.get("Idempotency-Key")))
                    fault = next((r for r in proxy.rules
                                  if r[0] == self.command and path.startswith(r[1])), None)
                    if fault is not None:
                        proxy.rules.remove(fault)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                answer = requests.request(self.command, proxy.upstream + self.path,
                                          data=body, headers=headers, timeout=10)
                if fault is not None and fault[2] == "drop":
                    self.close_connection = True
                    return
                if fault is not None and fault[2] == "hold":
                    proxy.reached.set()
                    proxy._release.wait(30)
                try:
                    self.send_response(answer.status_code)
                    for k, v in answer.headers.items():
                        if k.lower() not in ("content-length", "transfer-encoding",
                                             "connection", "content-encoding"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the caller was killed meanwhile

            do_GET = do_POST = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def release(self):
        self._release.set()

    def creates(self, prefix="/v1/payment_intents"):
        return [entry for entry in self.log if entry[0] == "POST" and entry[1] == prefix]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.release()
        self.server.shutdown()
        self.server.server_close()


class AppProcess:
    """The app under gunicorn on a free loopback port, as production runs it."""

    def __init__(self, database_url: str, stripe_base: str, secret: str):
        self.port = support.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "STRIPE_API_BASE": stripe_base,
                    "STRIPE_WEBHOOK_SECRET": secret, "APP_URL": self.url,
                    "SECRET_KEY": "fault-test", "MAIL_BACKEND": "locmem",
                    "FUNDRAISER_CONFIG": "default", "PUBLIC_CACHE_SECONDS": "0"}
        self.proc = None

    def flask(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flask", "--app", "fundraiser", *args],
                              cwd=support.ROOT, env=self.env, capture_output=True, text=True,
                              timeout=120)

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4",
             "-b", f"127.0.0.1:{self.port}", "fundraiser:create_app()"],
            cwd=support.ROOT, env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:  # the worker imports the app before its first answer
            try:
                requests.get(self.url + "/api/v1/appeals", timeout=5)
                return self
            except requests.RequestException:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def kill(self):
        """SIGKILL, to the whole process group (master and worker): no
        handler runs, nothing is flushed or committed."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
