"""One settings module, configured by environment variables (see README "Configuration")."""

import os
import sys
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("FINOPS_STATE_DIR", BASE_DIR / ".finops"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


TESTING = "pytest" in sys.modules
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests-" + "x" * 20

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if (DEBUG or TESTING) else "")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "djmoney",
    "axes",
    "csp",
    "ninja",
    "finops.tenancy",
    "finops.audit",
    "finops.jobs",
    "finops.ledger",
    "finops.notifications",
    "finops.api",
    "finops.webhooks",
    "reporting",
    "budgets",
    "costs",
    "revenue",
    "planning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, so it marks every response below it, errors and redirects included.
    "finops.caching.PrivateResponsesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # Last: resolves /o/<slug>/, checks membership, and wraps the view *and* the template
    # rendering in one transaction with the tenant set for row-level security.
    "finops.tenancy.middleware.TenantMiddleware",
    # /api/ only: the bearer token, its scope and rate limit, its organisation's tenant context.
    "finops.api.middleware.ApiMiddleware",
]

ROOT_URLCONF = "finops.urls"
WSGI_APPLICATION = "finops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "finops.tenancy.context_processors.tenancy",
            ],
            "builtins": ["template_partials.templatetags.partials"],
            # `finops` is a project package, not an installed app: register its tag library.
            "libraries": {"finops": "finops.templatetags.finops"},
        },
    }
]


# --- Database -------------------------------------------------------------------------------
# DATABASE_URL names the server and database. Its credentials may be an administrative role:
# `finops.dbsetup` then creates the application's own role (DATABASE_APP_USER: not superuser,
# no BYPASSRLS) and the application always connects as that role, so row-level security applies.
def _database_settings() -> dict:
    url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/finops"
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
                                   conn_health_checks=True)
    config["ENGINE"] = "finops.postgres"  # Django's, grouping by every column (finops/postgres/base.py)
    config["USER"] = os.environ.get("DATABASE_APP_USER", "finops_app")
    config["PASSWORD"] = os.environ.get("DATABASE_APP_PASSWORD", "finops_app")
    config.setdefault("OPTIONS", {})
    # JIT compile time dominates small report queries (DESIGN §9).
    config["OPTIONS"]["options"] = "-c jit=off"
    config["TEST"] = {"NAME": os.environ.get("DATABASE_TEST_NAME", f"test_{config['NAME']}")}
    return config


DATABASES = {"default": _database_settings()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Redis, cache, Celery -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "finops"),
        # Callers treat the cache as optional (progress bars, throttles, debouncing): an
        # unreachable Redis must fail fast, not hang the page until the TCP stack gives up.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}


def _celery_broker(url: str) -> str:
    # redis-py spells a unix socket "unix:///path?db=N"; kombu "redis+socket:///path?virtual_host=N".
    if url.startswith("unix://"):
        parts = urlsplit(url)
        db = dict(parse_qsl(parts.query)).get("db", "0")
        return f"redis+socket://{parts.path}?virtual_host={db}"
    return url


CELERY_BROKER_URL = _celery_broker(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(STATE_DIR / "celerybeat-schedule")
# Background jobs kept in database rows (`finops/jobs/`). A running job beats its row every
# JOB_HEARTBEAT_SECONDS; beat, every JOB_REQUEUE_EVERY_SECONDS, hands a job to a worker again when
# its heartbeat is older than JOB_HEARTBEAT_TIMEOUT (its worker died) or it has been queued for
# JOB_QUEUED_TIMEOUT (its message was lost), and fails it after JOB_MAX_ATTEMPTS interrupted runs.
# So a crashed import is running again within about timeout + requeue period (~3 minutes).
JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "10"))
JOB_HEARTBEAT_TIMEOUT = float(os.environ.get("JOB_HEARTBEAT_TIMEOUT_SECONDS", "120"))
JOB_QUEUED_TIMEOUT = float(os.environ.get("JOB_QUEUED_TIMEOUT_SECONDS", "600"))
JOB_REQUEUE_EVERY = float(os.environ.get("JOB_REQUEUE_EVERY_SECONDS", "60"))
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "3"))
if JOB_HEARTBEAT_TIMEOUT < 3 * JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured("JOB_HEARTBEAT_TIMEOUT_SECONDS must be at least three heartbeats "
                               "(JOB_HEARTBEAT_SECONDS): a slow beat is not a dead worker.")
# The Redis transport hands an unacknowledged message to another worker after this long, even if
# the task is still running. Job tasks (imports) are acknowledged when they start: their row and
# its heartbeat, not the message, make sure they run, so they may take hours. Every other task
# is acks_late and short (alerts, sending): this bounds how long a crash delays it.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT_SECONDS", "900")),
}
OUTBOX_SEND_EVERY = float(os.environ.get("OUTBOX_SEND_EVERY_SECONDS", "300"))
CELERY_BEAT_SCHEDULE: dict = {
    "requeue-stale-jobs": {"task": "finops.jobs.tasks.jobs_requeue_stale_all", "schedule": JOB_REQUEUE_EVERY},
    "variance-alerts-hourly": {"task": "budgets.tasks.variance_alerts_evaluate_all", "schedule": 3600.0},
    # The outbox: what is due (digests at their hour, retries of failed sends, anything stuck).
    "outbox-send": {"task": "finops.notifications.tasks.outbox_send_all", "schedule": OUTBOX_SEND_EVERY},
    # The API: answers to idempotent POSTs are kept a day.
    "api-idempotency-expire": {"task": "finops.api.tasks.idempotent_responses_expire", "schedule": 3600.0},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True


# --- Auth and security -----------------------------------------------------------------------
AUTH_USER_MODEL = "auth.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "finops.tenancy.backends.EmailBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: per user *and* IP, with a finite cool-off.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_CALLABLE = "finops.tenancy.forms.axes_username"  # e-mail, case-insensitive
AXES_LOCKOUT_CALLABLE = "finops.tenancy.forms.axes_lockout_response"  # the template above, 429
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0")) or None

# Password-reset mails: at most so many per address and per IP address within the window
# (finops/ratelimit.py, in the database); past it the page answers the same and sends nothing.
PASSWORD_RESET_LIMIT_PER_EMAIL = int(os.environ.get("PASSWORD_RESET_LIMIT_PER_EMAIL", "3"))
PASSWORD_RESET_LIMIT_PER_IP = int(os.environ.get("PASSWORD_RESET_LIMIT_PER_IP", "20"))
PASSWORD_RESET_WINDOW_MINUTES = float(os.environ.get("PASSWORD_RESET_WINDOW_MINUTES", "60"))

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and not TESTING)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not TESTING)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if (DEBUG or TESTING) else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# A strict Content-Security-Policy: everything is served from our own origin, no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}


# --- E-mail ------------------------------------------------------------------------------------
EMAIL_URL = os.environ.get("EMAIL_URL") or f"filemail://{STATE_DIR / 'mail'}"
if EMAIL_URL.startswith("filemail://"):
    EMAIL_BACKEND = "finops.notifications.backends.EmlFileBackend"
    EMAIL_FILE_PATH = EMAIL_URL.removeprefix("filemail://")
else:
    vars().update(dj_email_url.parse(EMAIL_URL))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "finops <finops@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
INVITATION_MAX_AGE_DAYS = int(os.environ.get("INVITATION_MAX_AGE_DAYS", "7"))
# How long the unsubscribe link of an alert e-mail works (it is signed with the time it was sent).
# How long the unsubscribe link of a notification e-mail works (ALERT_… is its name before the outbox).
NOTIFICATION_UNSUBSCRIBE_MAX_AGE_DAYS = int(os.environ.get(
    "NOTIFICATION_UNSUBSCRIBE_MAX_AGE_DAYS", os.environ.get("ALERT_UNSUBSCRIBE_MAX_AGE_DAYS", "90")))

# Called by `seed_demo` for each demo organisation, after its books: `seeder(org, *, users, today, seed)`.
DEMO_SEEDERS = ["budgets.demo.demo_budgets_seed", "costs.demo.demo_costs_seed"]


# --- i18n, static ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "/static/"
STATIC_ROOT = STATE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
# Files browsers ask for at the site's root (/favicon.ico), served by WhiteNoise as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(100 * 1024 * 1024)))
# An XLSX file is checked before it is unzipped (finops/xlsx.py). A sheet's XML takes 4–7 bytes
# for each byte of the same rows as CSV, so 5× lets an XLSX hold about as many rows as the largest
# CSV accepted; a real sheet unzips to 5–20 times its size, a zip bomb to about 1,000.
IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES",
                                                        str(5 * IMPORT_MAX_BYTES)))
IMPORT_XLSX_MAX_RATIO = int(os.environ.get("IMPORT_XLSX_MAX_RATIO", "100"))

CURRENCIES = None  # django-money: every ISO 4217 currency

# Bounds (DESIGN §4, `finops/bounds.py`): dates are accepted from LEDGER_DATE_MIN to the end of
# the year LEDGER_DATE_YEARS_AHEAD years after the current one.
try:
    LEDGER_DATE_MIN = date.fromisoformat(os.environ.get("LEDGER_DATE_MIN") or "1990-01-01")
    LEDGER_DATE_YEARS_AHEAD = int(os.environ.get("LEDGER_DATE_YEARS_AHEAD") or "10")
except ValueError as exc:
    raise ImproperlyConfigured(f"LEDGER_DATE_MIN must be a date like 1990-01-01 and LEDGER_DATE_YEARS_AHEAD a "
                               f"whole number ({exc}).") from None
# A posting dated this many months or more after the current month is accepted but flagged
# ("dated 38 months ahead: is the year right?"), and listed on the dashboard.
LEDGER_FAR_AHEAD_MONTHS = int(os.environ.get("LEDGER_FAR_AHEAD_MONTHS") or "2")
# Requests a minute per API token (finops/api/middleware.py); more answer 429 with Retry-After.
API_RATE_LIMIT = int(os.environ.get("API_RATE_LIMIT") or "600")
# Webhooks may go to private and loopback addresses (tests, development); never in production.
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", DEBUG or TESTING)
# A failed webhook delivery is tried again after this many seconds, then twice as long each time.
WEBHOOK_FIRST_RETRY_SECONDS = int(os.environ.get("WEBHOOK_FIRST_RETRY_SECONDS") or "30")
# How often the dashboard, the journal and budget vs actual ask whether anything was posted.
LIVE_POLL_SECONDS = int(os.environ.get("LIVE_POLL_SECONDS") or "15")
DEFAULT_CURRENCY = "USD"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
