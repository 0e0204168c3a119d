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
    # Host names this app answers to (comma-separated); any other Host gets
    # 400. Empty: APP_URL's host, plus localhost and 127.0.0.1 outside
    # production (fundraiser/edge.py).
    TRUSTED_HOSTS = os.environ.get("TRUSTED_HOSTS", "")
    # How many proxies (load balancers) in front of the app add
    # X-Forwarded-For/-Proto/-Host; 0 ignores those headers.
    PROXY_COUNT = _env_int("PROXY_COUNT", 0)
    # Strict-Transport-Security max-age, sent when APP_URL is https.
    HSTS_SECONDS = _env_int("HSTS_SECONDS", 365 * 86400)

    # Stripe: localstripe by default. With real test-mode keys, unset
    # STRIPE_API_BASE (empty string) so the SDK talks to api.stripe.com.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "sk_test_localstripe")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe_dev")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "http://127.0.0.1:8420")
    STRIPE_ALLOW_LIVE = os.environ.get("STRIPE_ALLOW_LIVE", "") == "1"
    # A webhook older than this (seconds) is refused: replay protection.
    STRIPE_WEBHOOK_TOLERANCE = 300

    # Gift limits, in major units of the gift's currency. Card testers like
    # the smallest gift a form takes: keep the minimum above pocket change.
    DONATION_MIN_MAJOR = _env_int("DONATION_MIN_MAJOR", 1)
    DONATION_MAX_MAJOR = _env_int("DONATION_MAX_MAJOR", 100_000)
    # The largest amount any stored figure may be (gift, offline gift, goal,
    # pool cap, per-gift limit, pledge, refund); online gifts stay below both.
    MAX_AMOUNT_MAJOR = _env_int("MAX_AMOUNT_MAJOR", 10_000_000)
    # Currencies an appeal may take, e.g. "USD,EUR,ILS" (ISO 4217; Babel
    # knows their decimals). None: the list in fundraiser/limits.py.
    CURRENCIES = tuple(c.strip().upper() for c in os.environ.get("CURRENCIES", "").split(",")
                       if c.strip()) or None

    # Uploaded images with more pixels than this are refused before decoding.
    IMAGE_MAX_PIXELS = _env_int("IMAGE_MAX_PIXELS", 25_000_000)

    # Each one has a catalogue in fundraiser/translations and is served under
    # its own prefix (/fr/…); English is the default, unprefixed (or /en/…).
    LANGUAGES = {"en": "English", "fr": "Français", "de": "Deutsch", "he": "עברית",
                 "ar": "العربية"}

    # Who may frame the widget (/embed/<slug>): CSP frame-ancestors sources,
    # space-separated ("https://partner.example https://*.coalition.org"),
    # or "*" for any site. Every other page may be framed by nobody.
    EMBED_FRAME_ANCESTORS = os.environ.get("EMBED_FRAME_ANCESTORS", "*")
    # How long browsers and proxies may keep a widget before asking again.
    EMBED_MAX_AGE = _env_int("EMBED_MAX_AGE", 60)
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "fundraiser" / "translations")

    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Fundraiser <gifts@localhost>")

    # Who issues receipts and annual statements (printed on every PDF), and
    # what goes before a receipt's sequential number ("FR-" → FR-000042).
    # ORG_ADDRESS may hold several lines, separated by "\n".
    ORG_NAME = os.environ.get("ORG_NAME", "Fundraiser")
    ORG_ADDRESS = os.environ.get("ORG_ADDRESS", "")
    ORG_REGISTRATION = os.environ.get("ORG_REGISTRATION", "")
    RECEIPT_NUMBER_PREFIX = os.environ.get("RECEIPT_NUMBER_PREFIX", "R-")
    # The receipt mail carries its PDF (0) to send the text alone; the PDF
    # stays downloadable from the thank-you page and the donor portal.
    RECEIPT_PDF_ATTACHED = os.environ.get("RECEIPT_PDF_ATTACHED", "1") != "0"

    # Shared by every app process and host when set; empty = embedded run.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # The public cache (appeal page, progress JSON; fundraiser/cache.py): on
    # this Redis (else REDIS_URL's) for every process and host, else in
    # each process. Entries live PUBLIC_CACHE_SECONDS (empty: 60 on Redis,
    # 2 in-process); a change is seen at once on every host sharing the
    # Redis (versioned keys). 0 = no cache.
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", "")
    PUBLIC_CACHE_SECONDS = (float(os.environ["PUBLIC_CACHE_SECONDS"])
                            if os.environ.get("PUBLIC_CACHE_SECONDS") else None)
    # Keep the cache's versions in each process while Redis pushes no change
    # of them (fundraiser/cache_watch.py); 0 = read them from Redis each time.
    PUBLIC_CACHE_WATCH = os.environ.get("PUBLIC_CACHE_WATCH", "1") != "0"
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"

    # The scheduler queues again, every WEBHOOK_SWEEP_SECONDS, the webhook
    # events stored but not applied for WEBHOOK_SWEEP_AGE_SECONDS (a lost job).
    WEBHOOK_SWEEP_SECONDS = _env_int("WEBHOOK_SWEEP_SECONDS", 300)
    WEBHOOK_SWEEP_AGE_SECONDS = _env_int("WEBHOOK_SWEEP_AGE_SECONDS", 120)
    # And every 5 minutes the receipts still waiting RECEIPT_SWEEP_AGE_SECONDS
    # after their gift succeeded (the ask for their job was lost).
    RECEIPT_SWEEP_AGE_SECONDS = _env_int("RECEIPT_SWEEP_AGE_SECONDS", 300)
    # A saved-card pledge's closing charge that still waits for the pledger's
    # bank (3-D Secure) this many days after they were asked: one reminder,
    # with a new link (`charge-pledges` and the scheduler send it).
    PLEDGE_REMIND_AFTER_DAYS = _env_int("PLEDGE_REMIND_AFTER_DAYS", 3)
    # Still waiting this many days after they were asked, the charge is given
    # up (canceled at Stripe): the pledge lapses, its matches are reversed, and
    # the pledger is told once (the same runs).
    PLEDGE_LAPSE_AFTER_DAYS = _env_int("PLEDGE_LAPSE_AFTER_DAYS", 14)

    # Card-testing defences (README: "Card testing"). Scores per client
    # address, donor email and card over a moving window: each attempt costs
    # ATTEMPT_COST, a decline DECLINE_COST more. "slow,block": from the first
    # score each attempt waits SLOW_SECONDS; at the second the subject is
    # blocked for BLOCK_SECONDS. Counted in Redis with REDIS_URL, else in the database.
    CARD_GUARD_ENABLED = os.environ.get("CARD_GUARD_ENABLED", "1") != "0"
    CARD_GUARD_WINDOW_SECONDS = _env_int("CARD_GUARD_WINDOW_SECONDS", 3600)
    CARD_GUARD_ATTEMPT_COST = _env_int("CARD_GUARD_ATTEMPT_COST", 1)
    CARD_GUARD_DECLINE_COST = _env_int("CARD_GUARD_DECLINE_COST", 5)
    CARD_GUARD_SLOW_SECONDS = _env_int("CARD_GUARD_SLOW_SECONDS", 30)
    CARD_GUARD_BLOCK_SECONDS = _env_int("CARD_GUARD_BLOCK_SECONDS", 3600)
    CARD_GUARD_IP = os.environ.get("CARD_GUARD_IP", "30,60")
    CARD_GUARD_EMAIL = os.environ.get("CARD_GUARD_EMAIL", "14,20")
    CARD_GUARD_CARD = os.environ.get("CARD_GUARD_CARD", "6,12")
    # A callable returning naive UTC now; tests give one to travel in time.
    CARD_GUARD_CLOCK = None
    # The breaker: card gifts to an appeal pause when, within WINDOW_SECONDS,
    # its declines reach DECLINES and are at least RATE_PERCENT of its card
    # attempts; they resume after COOLDOWN_SECONDS or when an admin resets it.
    # Alerts go to CARD_BREAKER_ALERT_TO (comma-separated), else to every admin.
    CARD_BREAKER_DECLINES = _env_int("CARD_BREAKER_DECLINES", 20)
    CARD_BREAKER_RATE_PERCENT = _env_int("CARD_BREAKER_RATE_PERCENT", 50)
    CARD_BREAKER_WINDOW_SECONDS = _env_int("CARD_BREAKER_WINDOW_SECONDS", 600)
    CARD_BREAKER_COOLDOWN_SECONDS = _env_int("CARD_BREAKER_COOLDOWN_SECONDS", 3600)
    CARD_BREAKER_ALERT_TO = os.environ.get("CARD_BREAKER_ALERT_TO", "")
    RATELIMIT_HEADERS_ENABLED = True
    # Staff login back-off (fundraiser/staff/login_limits.py): failed
    # attempts allowed per client address, per account from one address, and
    # per account from anywhere (a browser that logged in before is exempt).
    STAFF_LOGIN_LIMIT_ADDRESS = os.environ.get("STAFF_LOGIN_LIMIT_ADDRESS",
                                               "10 per minute;30 per hour")
    STAFF_LOGIN_LIMIT_ACCOUNT_ADDRESS = os.environ.get("STAFF_LOGIN_LIMIT_ACCOUNT_ADDRESS",
                                                       "5 per minute;15 per hour")
    STAFF_LOGIN_LIMIT_ACCOUNT = os.environ.get("STAFF_LOGIN_LIMIT_ACCOUNT", "60 per hour")
    # Donor portal links (fundraiser/donors/limits.py): requests allowed per
    # client address and per email address, whatever the answer.
    DONOR_LINK_LIMIT_ADDRESS = os.environ.get("DONOR_LINK_LIMIT_ADDRESS",
                                              "10 per 10 minutes;30 per day")
    DONOR_LINK_LIMIT_EMAIL = os.environ.get("DONOR_LINK_LIMIT_EMAIL",
                                            "3 per 10 minutes;10 per day")
    # Signing an appeal (each sends a confirmation email): per client
    # address, and per email address (against one inbox being flooded).
    SIGN_LIMIT_ADDRESS = os.environ.get("SIGN_LIMIT_ADDRESS", "10 per 10 minutes;50 per day")
    SIGN_LIMIT_EMAIL = os.environ.get("SIGN_LIMIT_EMAIL", "3 per 10 minutes;10 per day")
    # An organisation asking to co-sign (also emails a link): the same two limits.
    COSIGN_LIMIT_ADDRESS = os.environ.get("COSIGN_LIMIT_ADDRESS", "5 per 10 minutes;20 per day")
    COSIGN_LIMIT_EMAIL = os.environ.get("COSIGN_LIMIT_EMAIL", "3 per 10 minutes;10 per day")
    # Days a signature's (or co-sign request's) emailed link works; after
    # that the page offers to send a new one.
    SIGN_LINK_VALID_DAYS = _env_int("SIGN_LINK_VALID_DAYS", 7)
    # A co-sign request whose link was never used is deleted, with its logo,
    # this many days after its link expired (the scheduler, hourly, and
    # `flask purge-cosign-requests`); until then the link can still be renewed.
    COSIGN_UNCONFIRMED_GRACE_DAYS = _env_int("COSIGN_UNCONFIRMED_GRACE_DAYS", 7)
    # A callable returning naive UTC now for the portal; tests travel in time.
    DONOR_PORTAL_CLOCK = None
    # Failed or refused staff logins, site-wide, past which admins get an
    # email (one per window).
    STAFF_LOGIN_ALERT = os.environ.get("STAFF_LOGIN_ALERT", "30 per 10 minutes")

    # text: readable in a terminal; json: one object per line for a collector.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")

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
    REDIS_URL = ""  # a test that wants Redis names its own database
    CACHE_REDIS_URL = ""
    CARD_GUARD_ENABLED = False  # the card-testing tests turn it on
    # Rendering a PDF takes ~0.1 s and most tests make many gifts: the
    # receipt tests turn it on.
    RECEIPT_PDF_ATTACHED = False
    APP_URL = "http://127.0.0.1:5000"
    PUBLIC_CACHE_SECONDS = 0  # tests read their own writes at once


class ProductionConfig(Config):
    PRODUCTION = True
    SESSION_COOKIE_SECURE = True
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
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
