"""Addresses: absolute ones built from APP_URL alone, and the URL converters
and query-string numbers every blueprint shares.

Absolute addresses of this site come from APP_URL alone.

The request's Host header is the visitor's word: a page or JSON document
cached for everyone (the public API, the appeal page) must not carry it,
nor may a link in an email or a webhook registration."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from werkzeug.routing import IntegerConverter


def public_url(endpoint: str, **values) -> str:
    """`url_for(endpoint, **values)` made absolute under APP_URL, inside a
    request or not (emails, the command line)."""
    base = urlsplit(current_app.config["APP_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme)
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)


# Ids are 32-bit INTEGER columns on PostgreSQL; SQLite's are 64-bit. A path
# with a larger number names nothing: 404, never an overflow (a 500).
MAX_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` that matches only 0 … MAX_ID (ASCII digits, as Werkzeug's)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=MAX_ID if max is None else max, signed=signed)


def query_int(raw: str | None, default: int | None = None, top: int = MAX_ID) -> int | None:
    """A whole number from a query string ('?page=3', '?appeal=12'), or
    `default` for anything else: '²' and '١٢' (str.isdigit says yes, and
    int() then fails or reads them), signs, and numbers past `top` (an
    overflow in the database)."""
    raw = (raw or "").strip()
    if not raw or len(raw) > len(str(top)) or not (raw.isascii() and raw.isdigit()):
        return default
    value = int(raw)
    return value if value <= top else default
