"""A warm progress JSON or appeal page, answered before Flask.

`GET /api/v1/appeals/<slug>` is what widgets and pages poll, many times a
second in a busy hour, and `GET /appeals/<slug>` is what a shared link
brings; both are the same for every visitor (the page for every visitor of
one language and address prefix: it carries no CSRF token and reads no
session, see appeals/views.py). Once a view has answered one (and stored it
in the public cache, fundraiser/cache.py), this WSGI middleware answers the
next requests for it from that same cache entry — the same bytes, the same
ETag, the same headers the view sent — without building a Flask request: no
routing, session, locale or rate-limit bookkeeping, only the same check of
the appeal's versions as the view makes (the cache's version watch, or one
round trip), so a gift that commits shows on the next answer, on every host
(cache_watch.py says how soon on another host).

Anything it is not sure of goes to Flask as before: another method or path,
a query string, a Host outside TRUSTED_HOSTS (Flask refuses it), an entry not
cached yet (or cached as "no such appeal"), headers not seen yet in this
process for that entry, a cache that cannot be reached, or a page whose
address names a language the visitor's cookie does not hold yet (Flask sets
that cookie).
"""

from __future__ import annotations

import re

from babel import Locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.exceptions import SecurityError
from werkzeug.http import parse_accept_header, parse_cookie, parse_etags, quote_etag
from werkzeug.wsgi import get_host

from ..appeals.services import is_slug, page_cache_key
from ..cache import appeal_scope
from ..logs import REQUEST_ID_HEADER, request_id_from
from ..urls import URL_LANGUAGE, choose_language

API_PATH = re.compile(r"^/api/v1/appeals/([a-z0-9-]+)$")
PAGE_PATH = re.compile(r"^/appeals/([a-z0-9-]+)$")
# Sent per answer, never replayed from the view's.
_OWN = frozenset(("etag", "content-length", "date", "x-request-id", "server", "set-cookie"))
# Entries a process remembers in each of its two tables (headers per cache
# key: slugs × languages × prefixes; locale per language headers); past this
# it forgets that table and learns again.
_REMEMBERED = 2000


def cache_key(slug: str) -> str:
    """The public cache's key for an appeal's progress JSON (the view's too)."""
    return f"api:{slug}"


class PublicFastPath:
    def __init__(self, app, inner):
        self.app = app
        self.inner = inner
        self.languages = list(app.config["LANGUAGES"])
        # What str(get_locale()) says for each (the view's key uses it).
        self.locale_names = {code: str(Locale.parse(code)) for code in [*self.languages, "en"]}
        # The view's headers per cache key, once seen (the page's may differ
        # by language: its Content-Security-Policy does not, but nothing here
        # assumes so).
        self.headers: dict[str, list[tuple[str, str]]] = {}
        self.chosen: dict[tuple, str] = {}  # (prefix, lang cookie, Accept-Language) → locale

    def __call__(self, environ, start_response):
        key = self._key(environ)
        if key is None:
            return self.inner(environ, start_response)
        key, scope = key
        headers = self.headers.get(key)
        cached = None
        if headers is not None:
            cache = self.app.extensions["fundraiser.public_cache"]
            cached = cache.peek(key, scope)
        if cached is None or not isinstance(cached[0], bytes):
            return self._through(key, environ, start_response)
        body, digest = cached
        etag = quote_etag(digest, weak=True)
        headers = [*headers, ("ETag", etag),
                   (REQUEST_ID_HEADER, request_id_from(environ.get("HTTP_X_REQUEST_ID", "")))]
        given = environ.get("HTTP_IF_NONE_MATCH")
        if given and parse_etags(given).contains_weak(digest):
            start_response("304 NOT MODIFIED",
                           [(k, v) for k, v in headers if k.lower() != "content-type"])
            return [b""]
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _key(self, environ) -> tuple[str, str] | None:
        """(cache key, its appeal's scope) of a request this path may answer,
        or None to leave it to Flask."""
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
            return None
        path = environ.get("PATH_INFO") or ""
        address = environ.get(URL_LANGUAGE)  # /fr/…, moved out of PATH_INFO
        api = None if address else API_PATH.match(path)
        page = None if api else PAGE_PATH.match(path)
        matched = api or page
        if matched is None or not is_slug(matched.group(1)):
            return None
        try:
            get_host(environ, trusted_hosts=self.app.config.get("TRUSTED_HOSTS"))
        except SecurityError:
            return None  # Flask answers 400
        slug = matched.group(1)
        if api:
            return cache_key(slug), appeal_scope(slug)
        cookies = environ.get("HTTP_COOKIE", "")
        cookie = parse_cookie(cookies).get("lang") if "lang=" in cookies else None
        if address and cookie != address:
            return None  # Flask stores the address's language in the cookie
        locale = self._locale(address, cookie, environ.get("HTTP_ACCEPT_LANGUAGE") or "")
        return page_cache_key(slug, locale, address), appeal_scope(slug)

    def _locale(self, address, cookie, accept_language: str) -> str:
        """What str(get_locale()) would say; browsers send a handful of
        Accept-Language lines, so each is weighed once per process."""
        known = self.chosen.get((address, cookie, accept_language))
        if known is None:
            accepted = parse_accept_header(accept_language, LanguageAccept)
            known = self.locale_names[
                choose_language(self.languages, address, None, cookie, accepted)]
            if len(self.chosen) >= _REMEMBERED:
                self.chosen.clear()
            self.chosen[(address, cookie, accept_language)] = known
        return known

    def _through(self, key, environ, start_response):
        """Flask answers; a 200 that sets no cookie teaches the headers to copy."""

        def remember(status, headers, exc_info=None):
            # The entry is keyed by slug, language and versions alone: whatever
            # cookie came with the request (`Vary: Cookie` is for the language
            # cookie), the view's answer is the same; one that sets a cookie
            # is not copied.
            if status.startswith("200 ") and not any(k.lower() == "set-cookie"
                                                     for k, _v in headers):
                if len(self.headers) >= _REMEMBERED:
                    self.headers.clear()
                self.headers[key] = [(k, v) for k, v in headers if k.lower() not in _OWN]
            return start_response(status, headers, exc_info)

        return self.inner(environ, remember)


def install(app) -> None:
    """Wrap the Flask app (inside the edge's proxy and health wrappers, so
    it sees the request as Flask would, and inside the language prefix's)."""
    app.wsgi_app = PublicFastPath(app, app.wsgi_app)
