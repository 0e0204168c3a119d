"""Reading the PDFs the app makes, as a donor's PDF reader would."""

from __future__ import annotations

import io

from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-"), data[:40]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def attachments(message) -> dict[str, bytes]:
    """A sent mail's PDF attachments, by file name."""
    return {name: content for name, content, mimetype in message.attachments
            if mimetype == "application/pdf"}
