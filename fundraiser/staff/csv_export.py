"""CSV downloads: streamed in chunks, with every cell made safe to open in a
spreadsheet."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime

from flask import Response, stream_with_context

FORMULA_SIGNS = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value) -> str:
    """Formula-injection guard: a text cell that a spreadsheet would run as a
    formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    text = str(value)
    # A spreadsheet reads a fullwidth or small sign ('＝', '﹦', '＋') as the
    # plain one: compare the first character's compatibility form.
    if text and (text[0] in FORMULA_SIGNS
                 or unicodedata.normalize("NFKC", text[0])[:1] in FORMULA_SIGNS):
        return "'" + text
    return text


def _stream_csv(header, rows, filename):
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_safe(v) for v in row])
            if buffer.tell() > 32_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
