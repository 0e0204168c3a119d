"""A real SMTP server on loopback (aiosmtpd) for the mail tests: the app
sends through Flask-Mailman's SMTP backend, as in production, and the test
reads what arrived — headers decoded, attachments included."""

from __future__ import annotations

import email
import threading
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests import support

# Ports a test's own server listens on: the only SMTP connections the
# conftest's guard lets through.
ALLOWED_PORTS: set[int] = set()


class _Collect:
    def __init__(self, inbox: Inbox):
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.inbox.arrived(envelope.rcpt_tos, message)
        return "250 OK"


class Inbox:
    """What the server received, in order: (recipients, parsed message)."""

    def __init__(self):
        self.port = support.free_port()
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._arrival = threading.Condition()
        self.controller = None

    def arrived(self, rcpt_tos, message):
        with self._arrival:
            self.messages.append((list(rcpt_tos), message))
            self._arrival.notify_all()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        with self._arrival:
            self._arrival.wait_for(lambda: len(self.messages) >= count, timeout=timeout)

    def config(self) -> dict:
        """The app settings that send through this server."""
        return {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port,
                "MAIL_USE_TLS": False, "MAIL_USE_SSL": False, "MAIL_TIMEOUT": 5}

    def start(self):
        """Listen (again, after `go_down`) on this inbox's port."""
        self.controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        ALLOWED_PORTS.add(self.port)
        return self

    def go_down(self):
        """The mail server stops answering; the app may still try its port."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def stop(self):
        ALLOWED_PORTS.discard(self.port)
        self.go_down()


def body_text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def pdf_attachments(message: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()
            if part.get_content_type() == "application/pdf"}
