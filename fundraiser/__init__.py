"""Fundraiser: public appeals, card gifts through Stripe, goals and matching.

create_app() is the only place where extensions, blueprints and
configuration meet. `flask --app fundraiser …` finds it by name.
"""

from __future__ import annotations

import os

from flask import Flask, render_template, request
from flask_babel import get_locale
from sqlalchemy import event

from .extensions import babel, csrf, db, limiter, login, mail, migrate

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RTL = {"he", "ar", "fa", "ur", "yi"}


def _load_config(app: Flask, config) -> None:
    import sys

    if ROOT not in sys.path:  # config.py sits beside the package
        sys.path.insert(0, ROOT)
    from config import CONFIGS, ProductionConfig

    if config is None:
        config = os.environ.get("FUNDRAISER_CONFIG", "default")
    if isinstance(config, str):
        config = CONFIGS[config]
    if isinstance(config, dict):
        app.config.from_object(CONFIGS["test"])
        app.config.update(config)
    else:
        if config is ProductionConfig or (isinstance(config, type)
                                         and issubclass(config, ProductionConfig)):
            config.check()
        app.config.from_object(config)
    # Flask's own defaults hold MAX_CONTENT_LENGTH = None, so setdefault would
    # leave every request body unbounded (spooled to disk before any form's own
    # check): room for a 2 MB image and the form around it, and no more.
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = REQUEST_BYTES_MAX
    # Served over https: the session cookie (staff logins) never travels in clear.
    if str(app.config.get("APP_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True


def select_locale():
    """The address's language (/fr/…, or ?lang=fr), then the visitor's stored
    choice (the lang cookie), then their browser's Accept-Language."""
    from .urls import choose_language, url_language

    if request:
        return choose_language(app_languages(), url_language(), request.args.get("lang"),
                               request.cookies.get("lang"), request.accept_languages)
    return "en"


def app_languages():
    from flask import current_app

    return list(current_app.config["LANGUAGES"])


def _sqlite_pragmas(engine) -> None:
    """WAL, a generous busy timeout, and the write lock taken with BEGIN
    IMMEDIATE just before a transaction's first write (or its first read FOR
    UPDATE, or DDL), never by upgrading a read: SQLite refuses that upgrade
    at once with "database is locked" when another writer committed since
    the read began. Reads before it run outside any transaction, each
    seeing the last commit, as PostgreSQL's READ COMMITTED lets them; from
    the lock on, the transaction has the database to itself. So a request
    that only reads never takes the lock (page views do not queue behind one
    another or behind a gift), and a gift holds it only from its first
    INSERT to its commit."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "before_cursor_execute")
    def _lock_before_writing(_conn, cursor, statement, _params, context, _many):
        if not cursor.connection.in_transaction and not _reads_only(statement, context):
            cursor.execute("BEGIN IMMEDIATE")


def _reads_only(statement: str, context) -> bool:
    """A plain SELECT (or PRAGMA): not one that asked for row locks, which
    SQLite's compiler leaves out of the SQL (`with_for_update()`)."""
    if statement.lstrip()[:6].upper() not in ("SELECT", "PRAGMA"):
        return False
    compiled = getattr(context, "compiled", None)
    return getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is None


def create_app(config=None) -> Flask:
    app = Flask(
        __name__,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
        instance_path=os.path.join(ROOT, "instance"),
    )
    _load_config(app, config)
    os.makedirs(app.instance_path, exist_ok=True)
    from . import logs

    logs.configure(app)

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://"):]
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri[len("postgresql://"):]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"),
                     render_as_batch=True)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    login.init_app(app)
    login.session_protection = "strong"
    from . import edge
    from .api import fastpath

    fastpath.install(app)  # a warm progress JSON or page without Flask; inside the edge's
    edge.install(app)  # trusted hosts, proxies, HSTS
    from .media import services as media

    media.configure(app.config.get("IMAGE_MAX_PIXELS"))

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_pragmas(db.engine)

    from .payments.stripe_gateway import StripeGateway

    app.extensions["fundraiser.gateway"] = StripeGateway(
        secret_key=app.config["STRIPE_SECRET_KEY"],
        publishable_key=app.config["STRIPE_PUBLISHABLE_KEY"],
        webhook_secret=app.config["STRIPE_WEBHOOK_SECRET"],
        api_base=app.config["STRIPE_API_BASE"] or "",
        allow_live=app.config["STRIPE_ALLOW_LIVE"],
        tolerance=app.config["STRIPE_WEBHOOK_TOLERANCE"],
        fingerprint_key=app.config["SECRET_KEY"],
    )
    from .abuse import setup as card_defences

    card_defences.init_app(app)

    # Every table is known to the metadata (for migrations) before any request.
    from .abuse import models as _abuse  # noqa: F401
    from .appeals import models as _appeals  # noqa: F401
    from .donations import models as _donations  # noqa: F401
    from .donors import models as _donors  # noqa: F401
    from .limits import Limits
    from .matching import models as _matching  # noqa: F401
    from .payments import models as _payments  # noqa: F401
    from .rates import models as _rates  # noqa: F401
    from .referrals import models as _referrals  # noqa: F401
    from .staff import models as _staff  # noqa: F401

    app.extensions["fundraiser.limits"] = Limits.from_config(app.config)

    from . import cache

    cache.init_app(app)  # the public cache; donations.cache_hooks drops what changes
    from . import jobs

    # With Redis: RQ imported and the queues built as the process starts, not
    # in the first request that queues a job (~0.5 s of a web worker's CPU).
    jobs.queues(app)

    # Before any route is added: <int:…> in every URL stops at the largest id
    # a database column holds (a larger one is a 404, not an overflow).
    from .urls import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    _register_blueprints(app)
    _register_templating(app)
    _register_errors(app)
    _register_headers(app)
    from . import static_assets

    static_assets.init_app(app)

    from . import cli
    from .donations import matching_hooks

    matching_hooks.connect()  # allocates the match, then sends the receipt
    from .donations import subscriptions

    subscriptions.connect()  # monthly gifts: invoice and subscription events
    from .donations import cache_hooks

    cache_hooks.connect()  # a payment change drops its appeal's public pages, everywhere
    from .staff import card_breaker

    card_breaker.connect()  # emails staff when an appeal's card gifts pause
    cli.init_app(app)
    from .urls import install_language_urls

    install_language_urls(app)  # /fr/… pages; last, so it wraps every other middleware
    return app


def _register_blueprints(app: Flask) -> None:
    from .api.views import bp as api_bp
    from .appeals.cosign_views import bp as cosign_bp
    from .appeals.embed import bp as embed_bp
    from .appeals.referral_views import bp as referrals_bp
    from .appeals.sign_views import bp as signatures_bp
    from .appeals.views import bp as appeals_bp
    from .donations.match_views import bp as matching_bp
    from .donations.pledge_auth import bp as pledge_auth_bp
    from .donations.views import bp as donations_bp
    from .donors import recurring_views as _recurring_views  # noqa: F401 (routes on bp)
    from .donors.views import bp as donors_bp
    from .health import bp as health_bp
    from .media.views import bp as media_bp
    from .payments.webhooks import bp as webhooks_bp
    from .staff.routes import bp as staff_bp

    for bp in (appeals_bp, donations_bp, matching_bp, webhooks_bp, api_bp, staff_bp,
               media_bp, health_bp, donors_bp, pledge_auth_bp, embed_bp,
               signatures_bp, referrals_bp, cosign_bp):
        app.register_blueprint(bp)


def _register_templating(app: Flask) -> None:
    from .media.views import image_url
    from .money import Money
    from .urls import public_url

    app.add_template_global(image_url)
    app.add_template_global(public_url)

    @app.template_filter("money")
    def money_filter(minor, currency, whole=False):
        return Money(int(minor), currency).format(str(get_locale()), whole=whole)

    @app.template_filter("bdi")
    def bdi_filter(value):
        # A name or title typed in another script, isolated inside a sentence
        # (an English title in a Hebrew sentence keeps its quotes in place).
        from markupsafe import Markup

        return Markup("<bdi>%s</bdi>") % value

    @app.template_filter("number_format")
    def number_filter(value):
        from flask_babel import format_decimal

        return format_decimal(int(value))

    @app.template_filter("percent")
    def percent_filter(value):
        # A ratio (gifts per visit), "—" when there is none yet.
        from flask_babel import format_percent

        return "—" if value is None else format_percent(float(value), "#,##0.#%")

    @app.context_processor
    def inject_locale():
        locale = str(get_locale())
        return {
            "current_locale": locale,
            "text_direction": "rtl" if locale in RTL else "ltr",
            "languages": app.config["LANGUAGES"],
        }


REQUEST_BYTES_MAX = 4 * 1024 * 1024


def _register_errors(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(_e):
        if request.path.startswith("/api/"):
            return {"error": "not found"}, 404
        return render_template("errors/404.html"), 404

    @app.errorhandler(429)
    def too_many(e):
        if getattr(e, "response", None) is not None:  # a limit's own page (staff login)
            return e.response
        if request.path.startswith(("/give/", "/match/", "/pledge-charge/")) \
                and request.method == "POST":
            # The card pages' scripts show this message and wait this long.
            from .abuse.guard import SLOW, Verdict
            from .donations.card_checks import refused_json

            item = getattr(getattr(e, "limit", None), "limit", None)
            return refused_json(Verdict(SLOW, item.get_expiry() if item else 60))
        if request.path.startswith(("/api/", "/give/")) and request.is_json:
            return {"error": "too many requests"}, 429
        return render_template("errors/429.html"), 429

    @app.errorhandler(413)
    def too_large(_e):
        if request.path.startswith(("/api/", "/webhooks/")) or request.is_json:
            return {"error": "payload too large"}, 413
        return render_template("errors/413.html", limit=REQUEST_BYTES_MAX // (1024 * 1024)), 413

    @app.errorhandler(500)
    def server_error(_e):
        db.session.rollback()
        return render_template("errors/500.html"), 500

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        if request.endpoint == "donations.give" and not request.is_json:
            from werkzeug.exceptions import TooManyRequests

            from .donations.views import refused_token

            try:
                return refused_token(request.view_args["slug"])
            except TooManyRequests as limited:  # the gift form's rate limit
                return too_many(limited)
        if request.is_json or request.path.startswith("/give/"):
            return {"status": "invalid", "message": e.description}, 400
        return render_template("errors/400.html", reason=e.description), 400


def _register_headers(app: Flask) -> None:
    gateway = app.extensions["fundraiser.gateway"]
    stripe_origin = gateway.js_origin
    api_origin = gateway.api_base if gateway.local else "https://api.stripe.com"
    csp = (
        "default-src 'self'; "
        f"script-src 'self' {stripe_origin}; "
        f"connect-src 'self' {api_origin}; "
        f"frame-src {stripe_origin} https://hooks.stripe.com; "
        "img-src 'self' data:; style-src 'self'; font-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )

    # The widget (/embed/<slug>) is the one page other sites may frame; it
    # runs no script at all.
    ancestors = app.config.get("EMBED_FRAME_ANCESTORS") or "*"
    if not isinstance(ancestors, str):
        ancestors = " ".join(ancestors)
    ancestors = " ".join(ancestors.replace(";", " ").replace(",", " ").split()) or "*"
    embed_csp = (
        "default-src 'self'; script-src 'none'; img-src 'self' data:; style-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {ancestors}"
    )

    @app.after_request
    def security_headers(response):
        framed = request.endpoint == "embed.show"
        response.headers.setdefault("Content-Security-Policy", embed_csp if framed else csp)
        if not framed:  # browsers too old for frame-ancestors
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        return response


# A worker process (a bare `rq worker`) builds its app from this factory.
from . import jobs as _jobs  # noqa: E402

_jobs.app_factory = create_app
