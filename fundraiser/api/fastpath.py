"""A warm progress JSON, answered before Flask.

`GET /api/v1/appeals/<slug>` is what widgets and pages poll, many times a
second in a busy hour, and it is the same for every visitor. Once the view
has answered it (and stored it in the public cache, fundraiser/cache.py),
this WSGI middleware answers the next requests for it from that same cache
entry — the same bytes, the same ETag, the same headers the view sent —
without building a Flask request: no routing, session, locale or rate-limit
bookkeeping, only the cache's one round trip for the appeal's versions, so a
gift that commits still shows on the very next answer, on every host.

Anything it is not sure of goes to Flask as before: another method or path,
a query string, a Host outside TRUSTED_HOSTS (Flask refuses it), an entry not
cached yet (or cached as "no such appeal"), headers not seen yet in this
process, or a cache that cannot be reached.
"""

from __future__ import annotations

import re

from werkzeug.exceptions import SecurityError
from werkzeug.http import parse_etags, quote_etag
from werkzeug.wsgi import get_host

from ..appeals.services import is_slug
from ..cache import appeal_scope
from ..logs import REQUEST_ID_HEADER, request_id_from

PATH = re.compile(r"^/api/v1/appeals/([a-z0-9-]+)$")
# Sent per answer, never replayed from the view's.
_OWN = frozenset(("etag", "content-length", "date", "x-request-id", "server", "set-cookie"))


def cache_key(slug: str) -> str:
    """The public cache's key for an appeal's progress JSON (the view's too)."""
    return f"api:{slug}"


class ProgressFastPath:
    def __init__(self, app, inner):
        self.app = app
        self.inner = inner
        self.headers: list[tuple[str, str]] | None = None  # the view's, once seen

    def __call__(self, environ, start_response):
        found = self._match(environ)
        if found is None:
            return self.inner(environ, start_response)
        _slug, cached = found
        if cached is None or self.headers is None:
            return self._through(environ, start_response)
        body, digest = cached
        etag = quote_etag(digest, weak=True)
        headers = [*self.headers, ("ETag", etag),
                   (REQUEST_ID_HEADER, request_id_from(environ.get("HTTP_X_REQUEST_ID", "")))]
        given = environ.get("HTTP_IF_NONE_MATCH")
        if given and parse_etags(given).contains_weak(digest):
            start_response("304 NOT MODIFIED",
                           [(k, v) for k, v in headers if k.lower() != "content-type"])
            return [b""]
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _match(self, environ):
        """(slug, the cached (body, digest) or None), or None to leave the
        request to Flask."""
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
            return None
        matched = PATH.match(environ.get("PATH_INFO") or "")
        if matched is None or not is_slug(matched.group(1)):
            return None
        try:
            get_host(environ, trusted_hosts=self.app.config.get("TRUSTED_HOSTS"))
        except SecurityError:
            return None  # Flask answers 400
        slug = matched.group(1)
        cache = self.app.extensions["fundraiser.public_cache"]
        return slug, cache.peek(cache_key(slug), appeal_scope(slug))

    def _through(self, environ, start_response):
        """Flask answers; a 200 that sets no cookie teaches the headers to copy."""

        def remember(status, headers, exc_info=None):
            # The entry is keyed by slug and versions alone: whatever cookie
            # came with the request (`Vary: Cookie` is Flask's habit), the
            # view's answer is the same; one that sets a cookie is not copied.
            if status.startswith("200 ") and not any(k.lower() == "set-cookie"
                                                     for k, _v in headers):
                self.headers = [(k, v) for k, v in headers if k.lower() not in _OWN]
            return start_response(status, headers, exc_info)

        return self.inner(environ, remember)


def install(app) -> None:
    """Wrap the Flask app (inside the edge's proxy and health wrappers, so
    it sees the request as Flask would)."""
    app.wsgi_app = ProgressFastPath(app, app.wsgi_app)
