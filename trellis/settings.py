"""Trellis settings, read from the environment.

Every setting has a default that works on a laptop (SQLite under var/, console
email, the database task queue). Production values come from the environment;
`trellis check` refuses a production configuration with a missing or placeholder
secret. docs/configuration.md documents every variable read here.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
import structlog
from django.utils.csp import CSP

from trellis.core.config import env_bool, env_int, mailers_from_url, tasks_from_env
from trellis.core.dbrouter import replica_database
from trellis.core.files import PrivateSQLiteConnection, private_dir

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TRELLIS_VAR_DIR", BASE_DIR / "var"))

# Under pytest the default is the test environment (fast hashing, no console email).
TRELLIS_ENV = os.environ.get("TRELLIS_ENV", "test" if "pytest" in sys.modules else "dev")
if TRELLIS_ENV not in {"dev", "test", "production"}:
    raise RuntimeError(f"TRELLIS_ENV must be dev, test or production, not {TRELLIS_ENV!r}")
PRODUCTION = TRELLIS_ENV == "production"

# Development keys are public on purpose: `trellis check` refuses them in production.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("TRELLIS_SECRET_KEY", "" if PRODUCTION else DEV_SECRET_KEY)
DEBUG = env_bool("TRELLIS_DEBUG", TRELLIS_ENV == "dev")

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "TRELLIS_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver"
    ).split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("TRELLIS_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
TRELLIS_BASE_URL = os.environ.get("TRELLIS_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks_db",
    "axes",
    "trellis.core",
    "trellis.accounts",
    "trellis.audit",
    "trellis.programs",
    "trellis.care",
    "trellis.engagement",
    "trellis.alerts",
    "trellis.journey",
    "trellis.onboarding",
    "trellis.signin",
    "trellis.measures",
    "trellis.nudges",
    "trellis.insights",
    "trellis.messaging",
    "trellis.appointments",
    "trellis.workspace",
    "trellis.clinic",
    "trellis.interop",
    "trellis.demo",
]

MIDDLEWARE = [
    # First: a request id bound into every log line, the access line and the latency metric;
    # then load shedding, the body size limit and the database-down answer, before anything
    # reads the body or the database (docs/operations.md, "Under load and when things fail").
    "trellis.core.requestid.RequestIdMiddleware",
    "trellis.core.shedding.LoadSheddingMiddleware",
    "trellis.core.limits.RequestSizeLimitMiddleware",
    "trellis.core.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "trellis.core.middleware.SecurityHeadersMiddleware",
    "trellis.audit.middleware.AuditOriginMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "trellis.accounts.middleware.SessionTimeoutMiddleware",
    "trellis.accounts.middleware.MfaRequiredMiddleware",
    "trellis.accounts.language.PersonLanguageMiddleware",
    "trellis.care.middleware.ViewerZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Trellis's own 404 and 500 pages also with DEBUG on (the demo): after CommonMiddleware.
    "trellis.core.middleware.FriendlyErrorPagesMiddleware",
    # Last, as django-axes asks: it turns a request it marked as held back into the one
    # throttled page (the sign-in pages already answer with it themselves).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trellis.urls"
WSGI_APPLICATION = "trellis.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "trellis" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "trellis.core.context_processors.trellis",
            ],
        },
    }
]

# Database: SQLite under var/ by default, PostgreSQL through DATABASE_URL. var/ and the
# database file are created readable by their owner only (0700 and 0600).
private_dir(VAR_DIR)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'trellis.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL)
if _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {})
    # Prepared statements: Django's own cursors bind values on the client and never prepare;
    # core.rows prepares the statements every request sends (docs/performance.md). Behind
    # PgBouncer in transaction mode that needs its max_prepared_statements; off, None.
    if env_bool("TRELLIS_DB_PREPARE", True):
        _db["OPTIONS"].setdefault("prepare_threshold", 5)
    # The pool is for serving; tests use plain connections, which the live-server tests
    # close between tests (a pooled connection there can hold locks across a flush).
    if env_bool("TRELLIS_DB_POOL", TRELLIS_ENV != "test"):
        # psycopg's pool; Django keeps no persistent connection alongside it.
        _db["OPTIONS"]["pool"] = {
            "min_size": env_int("TRELLIS_DB_POOL_MIN", 2),
            "max_size": env_int("TRELLIS_DB_POOL_MAX", 10),
            "timeout": 10,
        }
        _db["CONN_MAX_AGE"] = 0
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Creates a missing database file 0600; its -wal and -shm files follow its mode.
            "factory": PrivateSQLiteConnection,
        }
    )
DATABASES = {"default": _db}
# A read replica for reports and exports (docs/deployment.md): DATABASE_REPLICA_URL adds the
# `replica` connection and the router that sends only those reads there. Under test it is a
# second connection to the test database, so the suite exercises the routing.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL or TRELLIS_ENV == "test":
    DATABASES["replica"] = replica_database(
        dj_database_url.parse(DATABASE_REPLICA_URL) if DATABASE_REPLICA_URL else {}, _db
    )
    DATABASE_ROUTERS = ["trellis.core.dbrouter.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background work: django.tasks on the database queue (django-tasks-db) by default, or on
# Celery with Redis or RabbitMQ (TRELLIS_TASK_BACKEND=celery; docs/nudges-worker.md).
TASKS = tasks_from_env(
    os.environ.get("TRELLIS_TASK_BACKEND", "database"),
    broker_url=os.environ.get("TRELLIS_BROKER_URL", "") or REDIS_URL,
    visibility_timeout=env_int("TRELLIS_BROKER_VISIBILITY_TIMEOUT", 600),
)
# The nudges worker (docs/nudges-worker.md): a worker's lease on the deliveries it claimed,
# how many it claims at a time, and how many sending tasks each minute's batch fans out to.
TRELLIS_NUDGES_LEASE_SECONDS = env_int("TRELLIS_NUDGES_LEASE_SECONDS", 60)
TRELLIS_NUDGES_BATCH = env_int("TRELLIS_NUDGES_BATCH", 100)
TRELLIS_NUDGES_SENDERS = env_int("TRELLIS_NUDGES_SENDERS", 2)
# Simulated patients `trellis demo` adds to its main clinic (docs/insights-simulation.md);
# the test suite builds the demo often, so it asks for a handful.
TRELLIS_DEMO_SIMULATED_PATIENTS = env_int(
    "TRELLIS_DEMO_SIMULATED_PATIENTS", 6 if TRELLIS_ENV == "test" else 60
)
# Tries of a reminder that fails for now (backoff in between) before it counts as failed.
TRELLIS_NUDGES_MAX_ATTEMPTS = env_int("TRELLIS_NUDGES_MAX_ATTEMPTS", 5)
# Bulk FHIR exports (docs/fhir-bulk.md): hours a finished export's files are kept for the
# client to download before the clock removes them.
TRELLIS_EXPORT_KEEP_HOURS = env_int("TRELLIS_EXPORT_KEEP_HOURS", 24)

AUTH_USER_MODEL = "accounts.User"
# django-axes first: any authenticate() call is refused while its client is held back.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # The model backend, finding the signed-in person again without building an ORM query.
    "trellis.accounts.backends.UserBackend",
    # Sessions begun before UserBackend existed name this one; they stay valid.
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
if TRELLIS_ENV == "test" and not env_bool("TRELLIS_TEST_REAL_HASHER", False):
    # Argon2 is deliberately slow; tests that check hashing itself opt back in.
    PASSWORD_HASHERS = [
        "trellis.accounts.hashers.FastTestArgon2Hasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "clinic:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = env_int("TRELLIS_PASSWORD_RESET_TIMEOUT", 60 * 60)

# Sessions: idle timeouts per kind of user and an absolute lifetime. Stored in the database
# (so every session can be ended from the server), and with Redis also kept in the cache, so
# a request reads it from there: writes go to both, and ending a session removes it from
# both. Without Redis the cache is each process's own memory, which a session ended by
# another process would outlive, so sessions are read from the database alone.
# Django's engines, reading a stored session without building an ORM query each request.
SESSION_ENGINE = "trellis.accounts.sessions." + ("cached_db" if REDIS_URL else "db")
SESSION_COOKIE_AGE = env_int("TRELLIS_SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
TRELLIS_STAFF_IDLE_SECONDS = env_int("TRELLIS_STAFF_IDLE_SECONDS", 15 * 60)
TRELLIS_PATIENT_IDLE_SECONDS = env_int("TRELLIS_PATIENT_IDLE_SECONDS", 30 * 60)
TRELLIS_SESSION_ABSOLUTE_SECONDS = SESSION_COOKIE_AGE

# Sign-in throttling by django-axes: failures counted per address, per e-mail from one
# address, and per e-mail from browsers the account never signed in from; no account ever
# locks (trellis/accounts/throttle.py explains why).
TRELLIS_TRUST_X_FORWARDED_FOR = env_bool("TRELLIS_TRUST_X_FORWARDED_FOR", False)
TRELLIS_SIGNIN_WINDOW_SECONDS = env_int("TRELLIS_SIGNIN_WINDOW_SECONDS", 15 * 60)
TRELLIS_SIGNIN_FAILURES_PER_ADDRESS = env_int("TRELLIS_SIGNIN_FAILURES_PER_ADDRESS", 20)
TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = env_int(
    "TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", 5
)
TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT = env_int("TRELLIS_SIGNIN_FAILURES_PER_ACCOUNT", 10)
AXES_HANDLER = "trellis.accounts.throttle.SignInThrottleHandler"
AXES_LOCKOUT_PARAMETERS = "trellis.accounts.throttle.lockout_parameters"
AXES_FAILURE_LIMIT = "trellis.accounts.throttle.failure_limit"
AXES_COOLOFF_TIME = timedelta(seconds=TRELLIS_SIGNIN_WINDOW_SECONDS)
AXES_CLIENT_IP_CALLABLE = "trellis.audit.middleware.client_ip"
AXES_LOCKOUT_CALLABLE = "trellis.signin.views.throttled_page"
AXES_USERNAME_FORM_FIELD = "email"
AXES_VERBOSE = False  # no start-up banner in every command's output
# Only this e-mail's failures from this address are forgotten, and only when a sign-in is
# complete (after the code for two-step accounts): the sign-in pages do it themselves.
AXES_RESET_ON_SUCCESS = False
# The audit trail already records every sign-in and failure; axes keeps only its counts.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "email",
    "ip_address",
    "code",
    "old_password",
    "new_password1",
    "new_password2",
    "csrfmiddlewaretoken",
]
# Password-reset e-mails: at most this many per hour to one address, and from one client.
TRELLIS_PASSWORD_RESETS_PER_EMAIL = env_int("TRELLIS_PASSWORD_RESETS_PER_EMAIL", 3)
TRELLIS_PASSWORD_RESETS_PER_ADDRESS = env_int("TRELLIS_PASSWORD_RESETS_PER_ADDRESS", 10)
TRELLIS_INVITATION_DAYS = env_int("TRELLIS_INVITATION_DAYS", 7)
# A folder of the clinic's own questionnaires (NAME.instrument.yaml), see docs/measures.md.
TRELLIS_INSTRUMENTS_DIR = os.environ.get("TRELLIS_INSTRUMENTS_DIR", "")

# Field encryption keys: "key-id:base64-32-byte-key,older-id:..." newest first.
DEV_DATA_KEYS = "dev1:ZGV2LW9ubHktaW5zZWN1cmUtZGF0YS1rZXktMzJieXQ="
TRELLIS_DATA_KEYS = os.environ.get("TRELLIS_DATA_KEYS", "" if PRODUCTION else DEV_DATA_KEYS)

# Audit trail keys (HMAC-SHA-256 seals), in the same form, newest first, and the file that
# signed anchors of the chain's head are appended to (docs/audit.md).
DEV_AUDIT_KEYS = "devaudit1:ZGV2LW9ubHktaW5zZWN1cmUtYXVkaXQta2V5LTMyYnk="
TRELLIS_AUDIT_KEYS = os.environ.get("TRELLIS_AUDIT_KEYS", "" if PRODUCTION else DEV_AUDIT_KEYS)
TRELLIS_AUDIT_ANCHOR_FILE = os.environ.get(
    "TRELLIS_AUDIT_ANCHOR_FILE", str(VAR_DIR / "audit-anchors.jsonl")
)
# How often every clock's sealer links committed audit events into the chain (seconds).
TRELLIS_AUDIT_SEAL_SECONDS = env_int("TRELLIS_AUDIT_SEAL_SECONDS", 2)

# Email: EMAIL_URL such as smtp://user:pass@host:587?tls=1, or console:// in development.
EMAIL_URL = os.environ.get("EMAIL_URL", "" if PRODUCTION else "console://")
# file://outbox/email writes each e-mail to a file under VAR_DIR (what `trellis demo` does).
MAILERS = mailers_from_url(EMAIL_URL, base=VAR_DIR)
DEFAULT_FROM_EMAIL = os.environ.get("TRELLIS_FROM_EMAIL", "Trellis <no-reply@trellis.local>")

# Text messages through a provider's REST API (docs/nudges-sms.md): its base URL, the
# account, the auth token (also the key of its signed callbacks) and the clinic's sending
# number (E.164). Without account, token and number, texts are not available.
TRELLIS_SMS = {
    "BASE_URL": os.environ.get("TRELLIS_SMS_BASE_URL", "https://api.twilio.com"),
    "ACCOUNT": os.environ.get("TRELLIS_SMS_ACCOUNT", ""),
    "TOKEN": os.environ.get("TRELLIS_SMS_TOKEN", ""),
    "FROM": os.environ.get("TRELLIS_SMS_FROM", ""),
    "TIMEOUT": env_int("TRELLIS_SMS_TIMEOUT", 10),
    # A folder (relative: under VAR_DIR) where texts are written as files instead of sent
    # to the provider; `trellis demo` uses outbox/sms (trellis/nudges/channels/outbox.py).
    "OUTBOX": str(VAR_DIR / os.environ["TRELLIS_SMS_OUTBOX"])
    if os.environ.get("TRELLIS_SMS_OUTBOX")
    else "",
}

# Web push (docs/nudges-push.md): the VAPID key pair from `trellis keys vapid`, and the
# contact the push services see (mailto: or https:; blank: the sender address above).
# Outside production, with no pair set, one is made once and kept in VAR_DIR.
TRELLIS_VAPID_PRIVATE_KEY = os.environ.get("TRELLIS_VAPID_PRIVATE_KEY", "")
TRELLIS_VAPID_PUBLIC_KEY = os.environ.get("TRELLIS_VAPID_PUBLIC_KEY", "")
TRELLIS_VAPID_SUBJECT = os.environ.get("TRELLIS_VAPID_SUBJECT", "")
# A mailbox someone reads and acts on, offered in List-Unsubscribe beside the one-click link
# for mail programs that only unsubscribe by e-mail (docs/nudges-delivery.md); blank: none.
TRELLIS_UNSUBSCRIBE_MAILBOX = os.environ.get("TRELLIS_UNSUBSCRIBE_MAILBOX", "").strip()
# Hosts (and their subdomains) a push subscription may point at, comma-separated; blank:
# the browsers' own push services. Outside production, http on 127.0.0.1 is accepted too.
TRELLIS_PUSH_SERVICE_HOSTS = [
    h.strip().lower()
    for h in os.environ.get("TRELLIS_PUSH_SERVICE_HOSTS", "").split(",")
    if h.strip()
]

# The interface speaks these languages (docs/languages.md). Each person's own choice
# (User.language) wins; otherwise the browser's Accept-Language picks one of these, and
# English is the fallback for anything not translated. Each name is written in its own
# language, so a person can find theirs whatever language the page is in.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fi", "Suomi"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "trellis" / "locale"]
# Where Trellis's date formats differ from Django's for a language (trellis/formats/).
FORMAT_MODULE_PATH = ["trellis.formats"]
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# The project-wide files (trellis/static) belong to no app, so name the folder here.
STATICFILES_DIRS = [BASE_DIR / "trellis" / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# HTTP security. CSP has no 'unsafe-inline' for scripts anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
TRELLIS_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "trellis.clinic.views.errors.csrf_failure"
SESSION_COOKIE_SECURE = env_bool("TRELLIS_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("TRELLIS_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("TRELLIS_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None

# Django's deployment checks that Trellis's own (trellis/core/checks.py) report in clinic
# words, with the environment variable to change: `trellis check` shows those instead.
SILENCED_SYSTEM_CHECKS = [
    "security.W004",  # HSTS: trellis.E013
    "security.W009",  # SECRET_KEY: trellis.E002 to E004
    "security.W012",  # SESSION_COOKIE_SECURE: trellis.E011
    "security.W016",  # CSRF_COOKIE_SECURE: trellis.E012
    "security.W018",  # DEBUG: trellis.E001
    "security.W020",  # ALLOWED_HOSTS: trellis.E014
    "mail.E001",  # a development email backend: trellis.E010
]

OTP_TOTP_ISSUER = "Trellis"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

TRELLIS_REQUIRE_SERVICES = env_bool("TRELLIS_REQUIRE_SERVICES", False)

# Operating under load (docs/operations.md): requests one process works on at once before
# it answers 503 (0: no limit, the default outside production, where the test and
# development servers start a thread per request; `trellis serve` sets it to --threads in
# every mode), the largest request
# body in bytes (413 above it), and the bearer token a Prometheus scraper sends to
# GET /metrics (empty: /metrics does not exist).
TRELLIS_MAX_IN_FLIGHT = env_int("TRELLIS_MAX_IN_FLIGHT", 8 if PRODUCTION else 0)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("TRELLIS_MAX_REQUEST_BYTES", 2_621_440)
TRELLIS_METRICS_TOKEN = os.environ.get("TRELLIS_METRICS_TOKEN", "")

# Logs: one JSON object per line in production (for the log pipeline), readable lines otherwise.
# Patient data never goes into logs; identifiers only.
LOG_FORMAT = os.environ.get("TRELLIS_LOG_FORMAT", "json" if PRODUCTION else "console")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "structlog.stdlib.ProcessorFormatter",
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
            "foreign_pre_chain": [
                # The request's id (trellis.core.requestid) on every line logged during it,
                # and the access line's own fields, named here so nothing else slips in.
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.ExtraAdder(allow=("method", "route", "status", "duration_ms")),
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
        },
        "console": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("TRELLIS_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes notes every attempt at INFO; failures and holds stay at WARNING.
        "axes": {"level": "WARNING"},
    },
}
