"""Settings, read from the environment (see README "Configuration").

Defaults give a zero-setup node: SQLite under var/ and a filesystem Celery
broker. Production sets DATABASE_URL and CELERY_BROKER_URL.
"""

import os
from pathlib import Path
from zoneinfo import ZoneInfo

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("RIS_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

# RIS_ENV=production: the settings a hospital deploys (`manage.py check
# --deploy` clean): Secure cookies, HSTS, HTTPS redirect; the RIS refuses to
# start with the development secret key or with DEBUG on.
RIS_ENV = env.str("RIS_ENV", default="development")
PRODUCTION = RIS_ENV == "production"
DEVELOPMENT_SECRET_KEY = "insecure-development-key-change-me"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured("RIS_ENV=production needs DJANGO_SECRET_KEY: at least 50 random characters of your own")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("RIS_ENV=production refuses DJANGO_DEBUG=true: debug pages show patient data")
if RIS_ENV not in ("production", "development"):
    raise ImproperlyConfigured(f"RIS_ENV is production or development, not {RIS_ENV!r}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "django_htmx",
    "csp",
    "drf_spectacular",
    "ris.apps.RisConfig",
    "hl7.apps.Hl7Config",
    "worklist.apps.WorklistConfig",
    "fhir.apps.FhirConfig",
    "web.apps.WebConfig",
    "config.apps.ProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page language: the language switcher's cookie, else the browser's
    # Accept-Language, else LANGUAGE_CODE.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "web.middleware.NoStoreMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
if env.int("RIS_TRUSTED_PROXIES", default=0):
    MIDDLEWARE.insert(0, "web.middleware.ClientAddressFromProxy")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "web.context.layout",
            ],
            # Every page shows names, times and long text the same way (web/templatetags).
            "builtins": ["web.templatetags.names", "web.templatetags.display"],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'ris.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Listener threads write concurrently: wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    # WAL: readers (worklist queries) do not wait for the listener's writers.
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
    # Tests use a file too: the in-memory shared-cache database refuses a
    # second writer at once ("table is locked") instead of waiting for it.
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", str(VAR_DIR / "test-ris.sqlite3"))
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.int("RIS_DB_POOL_SIZE", default=32):
    # Every DICOM association and MLLP connection runs in its own thread, so
    # without a pool each would open a new PostgreSQL connection (about 10 ms).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": env.int("RIS_DB_POOL_SIZE", default=32),
        "timeout": 5,
    }
    # With health checks Django has the pool test each connection as it leaves
    # it: after the database was away, idle pooled connections are dead and
    # would otherwise each answer one message AR before being dropped.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "RIS_DB_PREPARED_STATEMENTS", default=True
):
    # Django turns psycopg's prepared statements off (prepare_threshold None).
    # Its own cursors bind on the client and are never prepared whatever the
    # threshold; the worklist query is prepared explicitly (infra.db.prepared_rows),
    # and nothing else reaches the threshold. Turn off behind a pooler that
    # cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 1_000_000)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The site's language (and so its month and day names), e.g. "de" or "en-gb".
LANGUAGE_CODE = env.str("RIS_LOCALE", default="en-us")
# The languages of the pages (a German catalogue in locale/de).
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The site time zone: HL7 and DICOM carry local times without a zone; they are
# read and written in this zone and stored as aware UTC datetimes.
TIME_ZONE = env.str("RIS_TIME_ZONE", default="UTC")
ZoneInfo(TIME_ZONE)  # fail loudly at start-up on a zone name that does not exist
USE_I18N = True
USE_TZ = True
# How pages show dates and times (Django date format characters; 24-hour by
# default), through the `when`, `day` and `clock` filters (web/templatetags/display.py).
RIS_DATE_FORMAT = env.str("RIS_DATE_FORMAT", default="Y-m-d")
RIS_TIME_FORMAT = env.str("RIS_TIME_FORMAT", default="H:i")
RIS_DATETIME_FORMAT = env.str("RIS_DATETIME_FORMAT", default=f"{RIS_DATE_FORMAT} {RIS_TIME_FORMAT}")
# Django's own rendering (`{{ a_date }}`, `date` without a format) uses them too,
# in English and German (config/formats/), and where no locale format applies.
DATE_FORMAT, TIME_FORMAT, DATETIME_FORMAT = RIS_DATE_FORMAT, RIS_TIME_FORMAT, RIS_DATETIME_FORMAT
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # collectstatic target; WhiteNoise expects it to exist
STATICFILES_DIRS = [BASE_DIR / "static"]  # static/vendor: htmx, EventCalendar, Bootstrap
# Static files are served by the app itself (WhiteNoise), so `serve` and
# gunicorn need no web server in front; found in place, no collectstatic needed.
WHITENOISE_USE_FINDERS = env.bool("RIS_STATIC_USE_FINDERS", default=True)
# --- HTTP security (docs/operations.md, "Security") --------------------------
# Cookies: HttpOnly always, Secure (HTTPS only) in production or when asked.
SESSION_COOKIE_SECURE = env.bool("RIS_SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # the pages hand htmx the token in the page, never from the cookie
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
# A session lasts a shift at most, and ends with the browser.
SESSION_COOKIE_AGE = env.int("RIS_SESSION_HOURS", default=10) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("RIS_SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
# HTTPS: redirect plain HTTP (not the health and metrics endpoints a load
# balancer probes), and tell browsers to use HTTPS only (HSTS).
SECURE_SSL_REDIRECT = env.bool("RIS_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("RIS_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("RIS_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("RIS_HSTS_PRELOAD", default=PRODUCTION)
# Behind a TLS-terminating proxy: the header it sets, e.g. "HTTP_X_FORWARDED_PROTO=https".
_proxy_ssl_header = env.str("RIS_PROXY_SSL_HEADER", default="")
if _proxy_ssl_header:
    _name, _, _value = _proxy_ssl_header.partition("=")
    SECURE_PROXY_SSL_HEADER = (_name.strip(), _value.strip() or "https")
# How many proxies in front of the RIS append to X-Forwarded-For (0: none, use the peer's address).
RIS_TRUSTED_PROXIES = env.int("RIS_TRUSTED_PROXIES", default=0)
CSRF_TRUSTED_ORIGINS = env.list("RIS_CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content Security Policy (django-csp): our own scripts and styles only, no
# inline script or style element, no eval; the vendored assets satisfy it.
_CSP_SELF = ["'self'"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": _CSP_SELF,
        "script-src": _CSP_SELF,
        "style-src": _CSP_SELF,
        "style-src-elem": _CSP_SELF,
        "style-src-attr": _CSP_SELF,
        "img-src": ["'self'", "data:"],
        "font-src": _CSP_SELF,
        "connect-src": _CSP_SELF,
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": _CSP_SELF,
        **({"report-uri": [env.str("RIS_CSP_REPORT_URI")]} if env.str("RIS_CSP_REPORT_URI", default="") else {}),
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# The site as a printed report's header shows it.
RIS_SITE_NAME = env.str("RIS_SITE_NAME", default="Radiology")
RIS_SITE_ADDRESS = env.str("RIS_SITE_ADDRESS", default="")
# A TrueType font for printed reports (names in any script); when the file is
# missing the PDF falls back to a built-in Latin-1 font.
RIS_REPORT_FONT = env.str("RIS_REPORT_FONT", default="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# The reading list marks an exam overdue when it has waited longer than this
# for a final report, by priority (hours).
RIS_REPORT_TARGET_HOURS = {
    "STAT": env.float("RIS_REPORT_TARGET_HOURS_STAT", default=1.0),
    "HIGH": env.float("RIS_REPORT_TARGET_HOURS_HIGH", default=4.0),
    "MEDIUM": env.float("RIS_REPORT_TARGET_HOURS_MEDIUM", default=12.0),
    "ROUTINE": env.float("RIS_REPORT_TARGET_HOURS_ROUTINE", default=24.0),
    "LOW": env.float("RIS_REPORT_TARGET_HOURS_LOW", default=72.0),
}
# Critical results (docs/critical-results.md): minutes within which a flagged
# finding's communication record must be completed, per category; after
# that the escalation sweep (every RIS_CRITICAL_SWEEP_SECONDS) sends the
# event "critical_overdue" to the destinations that want it, and again
# each further such period while it stays open.
RIS_CRITICAL_RESULT_MINUTES = {
    "CRITICAL": env.float("RIS_CRITICAL_MINUTES", default=60.0),
    "URGENT": env.float("RIS_URGENT_MINUTES", default=24 * 60.0),
    "UNEXPECTED": env.float("RIS_UNEXPECTED_MINUTES", default=7 * 24 * 60.0),
}
RIS_CRITICAL_SWEEP_SECONDS = env.float("RIS_CRITICAL_SWEEP_SECONDS", default=60.0)
# The reading lock of an exam is free again after this many idle minutes.
RIS_READING_LOCK_IDLE_MINUTES = env.float("RIS_READING_LOCK_IDLE_MINUTES", default=15.0)

# Safety screening rules (docs/safety.md). Contrast (iodinated or gadolinium,
# per catalogue procedure) needs an eGFR of at least this (mL/min/1.73 m2),
# measured within this many days; these modalities use ionising radiation
# (pregnancy rule); rules named in RIS_SAFETY_RULES_OFF are not checked.
RIS_SAFETY_EGFR_MIN = env.float("RIS_SAFETY_EGFR_MIN", default=30.0)
RIS_SAFETY_EGFR_MAX_AGE_DAYS = env.int("RIS_SAFETY_EGFR_MAX_AGE_DAYS", default=90)
RIS_SAFETY_IONISING_MODALITIES = env.list(
    "RIS_SAFETY_IONISING_MODALITIES", default=["CT", "CR", "DX", "XA", "RF", "MG", "NM", "PT", "IO", "PX", "BMD"]
)
RIS_SAFETY_RULES_OFF = env.list("RIS_SAFETY_RULES_OFF", default=[])

# Login throttling, for every door (form, admin, HTTP Basic, tokens): this
# many failures of one user name from one address within the window lock that
# pair until the window has passed; the address-wide limit (any names) is far
# higher, so a shared terminal or a proxy does not lock everyone out.
RIS_LOGIN_MAX_FAILURES = env.int("RIS_LOGIN_MAX_FAILURES", default=5)
RIS_LOGIN_MAX_FAILURES_PER_ADDRESS = env.int("RIS_LOGIN_MAX_FAILURES_PER_ADDRESS", default=100)
RIS_LOGIN_LOCKOUT_MINUTES = env.int("RIS_LOGIN_LOCKOUT_MINUTES", default=15)
# A password set through a form (the admin, a change) must pass these.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("RIS_PASSWORD_MIN_LENGTH", default=12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Every password check goes through the throttled backend (web/authentication.py).
AUTHENTICATION_BACKENDS = ["web.authentication.ThrottledModelBackend"]
# Optional sign-on through the hospital's OpenID Connect provider
# (mozilla-django-oidc, code flow): the login page then offers it beside the
# password form. Claims map to the user (RIS_OIDC_USERNAME_CLAIM) and to RIS
# roles (RIS_OIDC_ROLES_CLAIM through RIS_OIDC_ROLE_MAP, "idp-group=role,...").
RIS_OIDC_ENABLED = env.bool("RIS_OIDC_ENABLED", default=False)
if RIS_OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("web.oidc.OidcBackend")
OIDC_RP_CLIENT_ID = env.str("RIS_OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("RIS_OIDC_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("RIS_OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("RIS_OIDC_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("RIS_OIDC_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("RIS_OIDC_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("RIS_OIDC_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("RIS_OIDC_SCOPES", default="openid email profile")
OIDC_TIMEOUT = env.float("RIS_OIDC_TIMEOUT", default=10.0)
LOGIN_REDIRECT_URL_FAILURE = "login"
RIS_OIDC_USERNAME_CLAIM = env.str("RIS_OIDC_USERNAME_CLAIM", default="preferred_username")
RIS_OIDC_ROLES_CLAIM = env.str("RIS_OIDC_ROLES_CLAIM", default="groups")
RIS_OIDC_ROLE_MAP = env.dict("RIS_OIDC_ROLE_MAP", default={})
# OAuth2 bearer tokens (Authorization: Bearer <JWT>) from the site's
# authorisation server, for /api, /fhir, /dicomweb and the UPS event channel
# (infra/bearer.py): none accepted unless an issuer is set. The keys come from
# RIS_OAUTH2_JWKS_URL (default: the OpenID Connect provider's JWKS endpoint);
# the username claim names an existing RIS user, whose roles apply.
RIS_OAUTH2_ISSUER = env.str("RIS_OAUTH2_ISSUER", default="")
RIS_OAUTH2_JWKS_URL = env.str("RIS_OAUTH2_JWKS_URL", default=OIDC_OP_JWKS_ENDPOINT)
RIS_OAUTH2_AUDIENCE = env.str("RIS_OAUTH2_AUDIENCE", default="")
RIS_OAUTH2_USERNAME_CLAIM = env.str("RIS_OAUTH2_USERNAME_CLAIM", default=RIS_OIDC_USERNAME_CLAIM)
if RIS_OAUTH2_ISSUER and not RIS_OAUTH2_JWKS_URL:
    raise ImproperlyConfigured("RIS_OAUTH2_ISSUER needs RIS_OAUTH2_JWKS_URL (or RIS_OIDC_JWKS_ENDPOINT)")
# API tokens (Authorization: Token <key>) end this many hours after they are issued.
RIS_API_TOKEN_HOURS = env.int("RIS_API_TOKEN_HOURS", default=24 * 30)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated request is answered 401 with WWW-Authenticate.
        # The same authenticators for /api and /fhir, each attempt throttled.
        "web.authentication.TokenAuthentication",
        "web.authentication.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "web.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON for programs; the browsable HTML pages for people, off in production unless asked for.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["web.api.renderers.BrowsableAPIRenderer"] if env.bool("RIS_BROWSABLE_API", default=not PRODUCTION) else []),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "web.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RIS API",
    "DESCRIPTION": "Patients, orders, steps, rooms, bookings and messages of the Radiology Information System.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components (no read-only fields), as client generators need.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "StepStatusEnum": "ris.states.StepStatus",
        "OrderStatusEnum": "ris.states.OrderStatus",
        "MessageStatusEnum": "hl7.models.InboundMessage.Status",
        "ReportStatusEnum": "ris.states.ReportStatus",
        "SignatureStatusEnum": [("preliminary", "preliminary"), ("final", "final")],
    },
}

# --- listeners -------------------------------------------------------------
RIS_BIND_HOST = env.str("RIS_BIND_HOST", default="127.0.0.1")
RIS_HTTP_PORT = env.int("RIS_HTTP_PORT", default=8000)
RIS_MLLP_PORT = env.int("RIS_MLLP_PORT", default=2575)
RIS_DICOM_PORT = env.int("RIS_DICOM_PORT", default=11112)
RIS_DICOM_AE_TITLE = env.str("RIS_DICOM_AE_TITLE", default="RIS")
# Largest HL7 message accepted over MLLP, and how long an idle connection stays open.
RIS_MLLP_MAX_MESSAGE_BYTES = env.int("RIS_MLLP_MAX_MESSAGE_BYTES", default=4 * 1024 * 1024)
RIS_MLLP_IDLE_TIMEOUT = env.float("RIS_MLLP_IDLE_TIMEOUT", default=300.0)
# Processes of `manage.py mllp` accepting on its one port (hl7/prefork.py):
# more than one lets busy connections run their Python work side by side.
RIS_MLLP_PROCESSES = env.int("RIS_MLLP_PROCESSES", default=1)
# How HL7 messages are applied: "fast" (on PostgreSQL, the common messages in
# one statement on a connection held per MLLP connection; the rest, and
# SQLite, the reference way) or "reference" (always the services, in the ORM).
RIS_HL7_WRITE_PATH = env.str("RIS_HL7_WRITE_PATH", default="fast")
if RIS_HL7_WRITE_PATH not in ("fast", "reference"):
    raise ImproperlyConfigured(f"RIS_HL7_WRITE_PATH must be 'fast' or 'reference', not {RIS_HL7_WRITE_PATH!r}")
RIS_DICOM_IDLE_TIMEOUT = env.float("RIS_DICOM_IDLE_TIMEOUT", default=60.0)
# Patient and physician names match case-insensitively in worklist queries
# (declared in docs/dicom-conformance.md); single values of other VRs match exactly.
RIS_MWL_NAME_IGNORE_CASE = env.bool("RIS_MWL_NAME_IGNORE_CASE", default=True)
# Refuse associations from calling AE titles not in the modality registry.
RIS_MWL_REFUSE_UNKNOWN_AE = env.bool("RIS_MWL_REFUSE_UNKNOWN_AE", default=False)
# Specific Character Set of answers to AEs the registry does not name.
RIS_MWL_CHARACTER_SET = env.str("RIS_MWL_CHARACTER_SET", default="ISO_IR 192")
# One log row per C-FIND (keys asked, items returned, time taken).
RIS_MWL_LOG_QUERIES = env.bool("RIS_MWL_LOG_QUERIES", default=True)
RIS_DICOM_MAX_PDU = env.int("RIS_DICOM_MAX_PDU", default=65536)
# What one DICOM peer may cost (docs/dicom-conformance.md, limits and timers):
# ARTIM (seconds to finish an A-ASSOCIATE-RQ, and to close after a release or
# refusal), the slowest a PDU may arrive once begun, the largest data set of
# one message, and open associations per peer address and in all.
RIS_DICOM_ARTIM_TIMEOUT = env.float("RIS_DICOM_ARTIM_TIMEOUT", default=10.0)
RIS_DICOM_MIN_RECEIVE_RATE = env.int("RIS_DICOM_MIN_RECEIVE_RATE", default=1024)
RIS_DICOM_MAX_DATASET = env.int("RIS_DICOM_MAX_DATASET", default=4 * 1024 * 1024)
# Dose reports: the largest STOW-RS body taken; where the report's draft gets the dose sentence
# ("findings", "impression", or "" for nowhere).
RIS_STOW_MAX_BYTES = env.int("RIS_STOW_MAX_BYTES", default=32 * 1024 * 1024)
RIS_DOSE_IN_REPORT = env.str("RIS_DOSE_IN_REPORT", default="findings")
if RIS_DOSE_IN_REPORT not in ("findings", "impression", ""):
    raise ImproperlyConfigured("RIS_DOSE_IN_REPORT must be findings, impression or empty")
# The site secret that keys the research export's pseudonyms and date shifts (HMAC-SHA256);
# by default derived from DJANGO_SECRET_KEY. Changing it changes every pseudonym.
RIS_RESEARCH_SECRET = env.str("RIS_RESEARCH_SECRET", default="")
RIS_DICOM_MAX_PER_ADDRESS = env.int("RIS_DICOM_MAX_PER_ADDRESS", default=64)
RIS_DICOM_MAX_ASSOCIATIONS = env.int("RIS_DICOM_MAX_ASSOCIATIONS", default=500)
# Seconds a listener process keeps a calling AE's registry entry; a change
# made in this process is seen at once, in others within this time.
RIS_DICOM_REGISTRY_TTL = env.float("RIS_DICOM_REGISTRY_TTL", default=10.0)
# DICOM listener processes of `dicomscp` on one port (worklist/processes.py):
# by default one per CPU in production, one in development and tests.
RIS_DICOM_PROCESSES = env.int("RIS_DICOM_PROCESSES", default=(os.cpu_count() or 1) if PRODUCTION else 1)
# PostgreSQL connections of one DICOM listener process for the worklist query
# (taken per C-FIND, never held by an association; docs/operations.md).
RIS_DICOM_QUERY_CONNECTIONS = env.int("RIS_DICOM_QUERY_CONNECTIONS", default=4)
# MPPS: a data set (N-CREATE attribute list, N-SET modification list) larger
# than this is refused 0x0213; of what is accepted, binary elements and any
# element larger than RIS_MPPS_MAX_ELEMENT_BYTES are not kept.
RIS_MPPS_MAX_DATASET_BYTES = env.int("RIS_MPPS_MAX_DATASET_BYTES", default=4 * 1024 * 1024)
RIS_MPPS_MAX_ELEMENT_BYTES = env.int("RIS_MPPS_MAX_ELEMENT_BYTES", default=64 * 1024)
# What an AE outside a non-empty modality registry is answered when its MPPS
# is quarantined: "success" (the modality carries on; nothing is applied) or
# "refuse" (0x0124 Refused: Not Authorized).
RIS_MPPS_QUARANTINE_ANSWER = env.str("RIS_MPPS_QUARANTINE_ANSWER", default="success")
if RIS_MPPS_QUARANTINE_ANSWER not in ("success", "refuse"):
    raise ImproperlyConfigured(
        f"RIS_MPPS_QUARANTINE_ANSWER must be success or refuse, not {RIS_MPPS_QUARANTINE_ANSWER!r}"
    )
# Instance Availability Notification (IHE RAD-49): images ONLINE or NEARLINE
# at the archive complete their procedure's steps that no MPPS is performing.
RIS_IAN_COMPLETES_STEPS = env.bool("RIS_IAN_COMPLETES_STEPS", default=True)
# DICOMweb worklist services (/dicomweb/, PS3.18 ch. 14-15): the most
# matches one MWL-RS search answers (more: 413, or page with limit/offset).
RIS_DICOMWEB_MAX_RESULTS = env.int("RIS_DICOMWEB_MAX_RESULTS", default=1000)
# The UPS-RS event channel (WebSocket, worklist/dicomweb/events.py): its
# port, and how often each connection looks for new event rows.
RIS_DICOMWEB_EVENTS_PORT = env.int("RIS_DICOMWEB_EVENTS_PORT", default=8001)
RIS_DICOMWEB_EVENTS_POLL_SECONDS = env.float("RIS_DICOMWEB_EVENTS_POLL_SECONDS", default=0.5)
# TLS: set a certificate and key to make a listener speak TLS only; a CA file
# makes it require client certificates signed by that CA.
RIS_MLLP_TLS_CERT = env.str("RIS_MLLP_TLS_CERT", default="")
RIS_MLLP_TLS_KEY = env.str("RIS_MLLP_TLS_KEY", default="")
RIS_MLLP_TLS_CA = env.str("RIS_MLLP_TLS_CA", default="")
RIS_DICOM_TLS_CERT = env.str("RIS_DICOM_TLS_CERT", default="")
RIS_DICOM_TLS_KEY = env.str("RIS_DICOM_TLS_KEY", default="")
RIS_DICOM_TLS_CA = env.str("RIS_DICOM_TLS_CA", default="")
# Our identity in MSH-3/MSH-4 of the messages we send (ACKs included).
RIS_HL7_APPLICATION = env.str("RIS_HL7_APPLICATION", default="RIS")
RIS_HL7_FACILITY = env.str("RIS_HL7_FACILITY", default="RADIOLOGY")
RIS_HL7_DESTINATION = env.str("RIS_HL7_DESTINATION", default="")
RIS_FHIR_BASE_URL = env.str("RIS_FHIR_BASE_URL", default="")
# The audit trail for a hospital's audit record repository (IHE ATNA): each
# event as a DICOM audit message (PS3.15 A.5) over syslog (RFC 5424):
# udp://host:514, tcp://host:601 or tls://host:6514; "" sends none.
RIS_AUDIT_SYSLOG = env.str("RIS_AUDIT_SYSLOG", default="")
RIS_AUDIT_SYSLOG_CA = env.str("RIS_AUDIT_SYSLOG_CA", default="")  # tls: the repository's CA
RIS_AUDIT_SYSLOG_CERT = env.str("RIS_AUDIT_SYSLOG_CERT", default="")  # tls: our client certificate
RIS_AUDIT_SYSLOG_KEY = env.str("RIS_AUDIT_SYSLOG_KEY", default="")
# AuditSourceID of the messages (the enterprise site is RIS_HL7_FACILITY).
RIS_AUDIT_SOURCE_ID = env.str("RIS_AUDIT_SOURCE_ID", default=RIS_HL7_APPLICATION)
# The issuer (assigning authority) of the MRNs people type at manual order
# entry when they leave it empty: the EHR's, so that a typed MRN finds the
# patient the EHR sent instead of becoming a second patient.
RIS_DEFAULT_ISSUER = env.str("RIS_DEFAULT_ISSUER", default="")
# Prefix of the UIDs the RIS makes (Study Instance UID); default is the
# UUID-derived root of PS3.5 B.2, which needs no registration.
RIS_UID_ROOT = env.str("RIS_UID_ROOT", default="2.25.")

# --- Celery ----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery-broker"
    (_queue_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
    }
# Several RIS installations may share one broker: each uses its own queue.
CELERY_TASK_DEFAULT_QUEUE = env.str("RIS_CELERY_QUEUE", default="ris")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_IGNORE_RESULT = True
# The sweep hands over outbox queues whose task was lost (broker or worker down).
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "ris.outbox_sweep", "schedule": env.float("RIS_OUTBOX_SWEEP_SECONDS", default=30.0)},
    "critical-results-escalate": {"task": "ris.critical_results_escalate", "schedule": RIS_CRITICAL_SWEEP_SECONDS},
}

# Under `serve`, readiness also checks that the MLLP and DICOM ports accept.
RIS_HEALTH_CHECK_LISTENERS = env.bool("RIS_HEALTH_CHECK_LISTENERS", default=False)
# `serve` supervises one child process per door: where it writes their state
# (read by /health/ready and /metrics; empty: var/serve-status.json), the
# first restart's delay (doubling to 30 s), and how often it processes again
# HL7 messages a crash left unanswered (RECEIVED).
RIS_SERVE_STATUS_FILE = env.str("RIS_SERVE_STATUS_FILE", default="")
# Order groups (ORC) one HL7 message may carry: it is applied in one
# transaction, which on SQLite holds every other sender until it commits.
RIS_HL7_MAX_ORDER_GROUPS = env.int("RIS_HL7_MAX_ORDER_GROUPS", default=100)
RIS_SERVE_RESTART_BACKOFF_SECONDS = env.float("RIS_SERVE_RESTART_BACKOFF_SECONDS", default=1.0)
RIS_HL7_RECOVERY_SECONDS = env.float("RIS_HL7_RECOVERY_SECONDS", default=60.0)

# RIS_LOG_FORMAT=json gives one JSON object per line for log shippers.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(threadName)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    # No patient data in the logs: query strings (searches by name, birth
    # date, MRN) are written with their values redacted (infra/logs.py).
    "filters": {"redact_query_strings": {"()": "infra.logs.RedactQueryStrings"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("RIS_LOG_FORMAT", default="plain"),
            "filters": ["redact_query_strings"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("RIS_LOG_LEVEL", default="INFO")},
    "loggers": {
        "pynetdicom": {"level": "WARNING"},
        # The access log of `serve` and runserver, and the request warnings: through the same filter.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
