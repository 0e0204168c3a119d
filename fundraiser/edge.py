"""What the app believes of the network in front of it: which Host names
are its own, how many proxies may speak for the client, and HSTS.

- A Host outside TRUSTED_HOSTS is refused with 400 (Flask 3.1 checks the
  list while routing; we refuse before any other code sees the request).
- `X-Forwarded-*` is honoured from exactly PROXY_COUNT proxies (Werkzeug's
  ProxyFix): 0 ignores the headers, so a visitor cannot pick the address the
  rate limits count them under; 1 behind one load balancer tells its clients
  apart.
- Served over https (APP_URL), every answer carries Strict-Transport-Security.
- A NUL in the path or the query string is refused with 400.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, request
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

LOCAL_HOSTS = ("localhost", "127.0.0.1")
HEALTH_PATHS = ("/healthz", "/readyz")


def trusted_hosts(config) -> list[str] | None:
    """TRUSTED_HOSTS as given (a list, or a comma-separated string), else the
    APP_URL's host, plus localhost and 127.0.0.1 unless in production."""
    given = config.get("TRUSTED_HOSTS")
    if isinstance(given, str):
        given = [h.strip() for h in given.split(",") if h.strip()]
    if given:
        return list(given)
    hosts = [urlsplit(config.get("APP_URL", "")).hostname or ""]
    if not config.get("PRODUCTION"):
        hosts += LOCAL_HOSTS
    return [h for h in dict.fromkeys(hosts) if h]


def install(app: Flask) -> None:
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies, x_port=proxies)

    def refuse_untrusted_host():
        # Flask keeps the routing error for later; refuse before any
        # before_request (rate limits, sessions) or view runs.
        if isinstance(request.routing_exception, SecurityError):
            abort(400)
        # A NUL in the path or the query string is no address of ours, and
        # PostgreSQL refuses it in any text it is asked to compare.
        if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                          for key, value in request.args.items(multi=True)):
            abort(400)

    app.before_request_funcs.setdefault(None, []).insert(0, refuse_untrusted_host)

    # A load balancer's health probe names the host by its address, which is
    # no trusted host; the two health paths build no URL from Host, so they
    # answer whatever Host the probe sends.
    canonical = (app.config["TRUSTED_HOSTS"] or [""])[0]
    inner = app.wsgi_app

    def health_any_host(environ, start_response):
        if environ.get("PATH_INFO") in HEALTH_PATHS and canonical:
            environ["HTTP_HOST"] = canonical
        return inner(environ, start_response)

    app.wsgi_app = health_any_host

    if str(app.config.get("APP_URL", "")).startswith("https://"):
        hsts = f"max-age={int(app.config.get('HSTS_SECONDS', 31536000))}"

        @app.after_request
        def strict_transport(response):
            response.headers.setdefault("Strict-Transport-Security", hsts)
            return response
