"""Configuration classes.

`Config` is the embedded default (SQLite in instance/, localstripe on
127.0.0.1:8420). `ProductionConfig` reads everything from the environment and
refuses to start without its secrets. `TestConfig` is what the test suite
builds on. Pick one with FUNDRAISER_CONFIG=default|production|test.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'fundraiser.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:5000")

    # Stripe: localstripe by default. With real test-mode keys, unset
    # STRIPE_API_BASE (empty string) so the SDK talks to api.stripe.com.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "sk_test_localstripe")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe_dev")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "http://127.0.0.1:8420")
    STRIPE_ALLOW_LIVE = os.environ.get("STRIPE_ALLOW_LIVE", "") == "1"
    # A webhook older than this (seconds) is refused: replay protection.
    STRIPE_WEBHOOK_TOLERANCE = 300

    # Gift limits, in major units of the gift's currency.
    DONATION_MIN_MAJOR = 1
    DONATION_MAX_MAJOR = _env_int("DONATION_MAX_MAJOR", 100_000)

    LANGUAGES = {"en": "English", "he": "עברית"}
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "fundraiser" / "translations")

    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Fundraiser <gifts@localhost>")

    # Public goal figures may be this many seconds old (per worker); a worker
    # that applies a payment change forgets its copy at once. 0 = no cache.
    PUBLIC_CACHE_SECONDS = float(os.environ.get("PUBLIC_CACHE_SECONDS", "2"))

    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL", "memory://")
    RATELIMIT_HEADERS_ENABLED = True

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = APP_URL.startswith("https://")
    WTF_CSRF_TIME_LIMIT = None  # a donor may read an appeal for hours


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    MAIL_BACKEND = "locmem"
    STRIPE_WEBHOOK_SECRET = "whsec_test"
    RATELIMIT_ENABLED = False
    APP_URL = "http://127.0.0.1:5000"
    PUBLIC_CACHE_SECONDS = 0  # tests read their own writes at once


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")

    REQUIRED = (
        "SECRET_KEY",
        "DATABASE_URL",
        "APP_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "STRIPE_WEBHOOK_SECRET",
    )

    @classmethod
    def check(cls):
        missing = [name for name in cls.REQUIRED if not os.environ.get(name)]
        if missing:
            raise RuntimeError(
                "Production configuration needs these environment variables: "
                + ", ".join(missing)
            )


CONFIGS = {"default": Config, "production": ProductionConfig, "test": TestConfig}
