"""Addresses: absolute ones built from APP_URL alone, and the URL converters
and query-string numbers every blueprint shares.

Absolute addresses of this site come from APP_URL alone.

The request's Host header is the visitor's word: a page or JSON document
cached for everyone (the public API, the appeal page) must not carry it,
nor may a link in an email or a webhook registration."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from flask import current_app, has_request_context, request
from werkzeug.routing import IntegerConverter

# The language named by the address (/fr/…), set by LanguagePrefix.
URL_LANGUAGE = "fundraiser.url_language"
# Never under a language prefix: machines call them (the API, webhooks,
# health probes), or one copy serves every language (assets, images).
UNPREFIXED_PATHS = ("/static/", "/media/", "/api/", "/webhooks/", "/healthz", "/readyz")
UNPREFIXED_ENDPOINTS = ("static", "media.", "api.", "webhooks.", "health.")
PATH_SAFE = "/:@!$&'()*+,;=-._~"


def public_url(endpoint: str, _language: str | None = None, **values) -> str:
    """`url_for(endpoint, **values)` made absolute under APP_URL, inside a
    request or not (emails, the command line). A page's address keeps the
    language prefix of the page it is built on (a share link on /fr/… is a
    French link); `_language` names another ("" for none)."""
    base = urlsplit(current_app.config["APP_URL"])
    script = base.path.rstrip("/")
    language = url_language() if _language is None else _language
    if language and not _unprefixed(endpoint):
        script += "/" + language
    adapter = current_app.url_map.bind(
        base.netloc, script_name=script or "/", url_scheme=base.scheme)
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)


def url_language() -> str | None:
    """The language the request's address names (/fr/… → "fr"), if any."""
    return request.environ.get(URL_LANGUAGE) if has_request_context() else None


def choose_language(languages, address, query, cookie, accepted) -> str:
    """The page's language: the address's (/fr/…), then ?lang=fr, then the
    visitor's stored choice (the lang cookie), then the best of their
    browser's Accept-Language (`accepted`, a LanguageAccept), else English.
    Flask-Babel's selector and the page fast path (api/fastpath.py) both
    ask this, so they never disagree."""
    for chosen in (address, query, cookie):
        if chosen in languages:
            return chosen
    return accepted.best_match(languages) or "en"


def _unprefixed(endpoint: str) -> bool:
    return endpoint == "static" or endpoint.startswith(UNPREFIXED_ENDPOINTS[1:])


class LanguagePrefix:
    """WSGI middleware: `/fr/appeals/x` is `/appeals/x` in French. The prefix
    moves from PATH_INFO to SCRIPT_NAME, so routing is unchanged and every
    `url_for` on the page keeps the visitor under /fr/. A prefix that is not
    one of the app's languages is left alone (a 404 path), and so is one in
    front of an address that never carries a language (UNPREFIXED_PATHS)."""

    def __init__(self, app, languages):
        self.app = app
        self.languages = frozenset(languages)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or ""
        head, _sep, rest = path[1:].partition("/")
        if head in self.languages and not ("/" + rest).startswith(UNPREFIXED_PATHS):
            environ["PATH_INFO"] = "/" + rest
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + "/" + head
            environ[URL_LANGUAGE] = head
        return self.app(environ, start_response)


def language_url(code: str) -> str:
    """This page's address in language `code` (English too is explicit,
    /en/…, so the choice wins over a stored one), query string kept."""
    base = request.script_root
    current = url_language()
    if current:
        base = base[: -len(current) - 1]
    url = f"{base}/{code}{quote(request.path, safe=PATH_SAFE)}"
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return url


def install_language_urls(app) -> None:
    """The /<lang>/ prefix (see LanguagePrefix), links to assets and the API
    that stay unprefixed, and the prefix's language remembered as the
    visitor's choice (the lang cookie) for the pages without one."""
    app.wsgi_app = LanguagePrefix(app.wsgi_app, app.config["LANGUAGES"])
    build = app.url_for

    def url_for(endpoint: str, **values) -> str:
        url = build(endpoint, **values)
        language = url_language()
        if not language:
            return url
        full = endpoint
        if endpoint.startswith(".") and request.blueprint:
            full = request.blueprint + endpoint
        if not _unprefixed(full):
            return url
        root = request.script_root
        parts = urlsplit(url)
        if parts.path.startswith(root + "/"):
            path = root[: -len(language) - 1] + parts.path[len(root):]
            url = urlunsplit(parts._replace(path=path))
        return url

    app.url_for = url_for
    app.jinja_env.globals["url_for"] = url_for
    app.jinja_env.globals["language_url"] = language_url

    @app.after_request
    def remember_language(response):
        language = url_language()
        if (language and request.method == "GET" and response.status_code < 300
                and request.cookies.get("lang") != language
                and "public" not in (response.headers.get("Cache-Control") or "")):
            response.set_cookie("lang", language, max_age=365 * 86400, samesite="Lax",
                                secure=app.config["SESSION_COOKIE_SECURE"], httponly=True)
            response.vary.add("Cookie")
        return response


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
