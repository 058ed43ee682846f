"""Settings shared by every environment; secrets and hosts come from the environment."""

from datetime import timedelta

import dj_database_url

from config.env import BASE_DIR, env, env_flag, env_list, env_networks
from config.sentry import init_sentry

# --- Core -------------------------------------------------------------------------------------

ENVIRONMENT = "base"
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "")
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en"
LANGUAGES = [("fr", "Français"), ("en", "English"), ("ar", "العربية")]
TIME_ZONE = "Africa/Tunis"
USE_I18N = True
USE_TZ = True

INSTALLED_APPS = [
    "config.apps.OTPAdminConfig",
    # Before django.contrib.auth: its createsuperuser (password policy also without a prompt)
    # must win over Django's command of the same name.
    "accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "rest_framework_simplejwt.token_blacklist",
    "corsheaders",
    "django_otp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditlog",
    "privacy",
    "garage",
    "invoices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.middleware.ClientIPMiddleware",
    "accounts.middleware.AdminAllowListMiddleware",
    "config.middleware.ApiErrorMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database and cache -----------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_health_checks=True
    )
}

REDIS_URL = env("REDIS_URL", "")


def redis_cache(url: str) -> dict:
    """A django-redis cache: shared across workers, atomic increments for the rate limits."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "ecar",
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
    }


CACHES = {"default": redis_cache(REDIS_URL)} if REDIS_URL else {}

# --- Static and uploaded files ----------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", str(BASE_DIR / "staticfiles"))
MEDIA_ROOT = env("MEDIA_ROOT", str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Personal documents: encrypted on disk, outside any URL (nginx has no /media/ location).
    "encrypted": {
        "BACKEND": "privacy.storage.EncryptedFileSystemStorage",
        "OPTIONS": {"location": f"{MEDIA_ROOT}/private"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Uploads stay in memory (never a plaintext temporary file on disk) up to the document limit;
# anything bigger is not accepted by the only upload handler.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024 + 64 * 1024

# --- Encryption keys (privacy/keys.py) --------------------------------------------------------
# Either the three variables, or ENCRYPTION_KEY_FILE: a JSON file of mode 0600 holding them.
# FIELD_ENCRYPTION_KEYS is an ordered ring "k2:<base64>,k1:<base64>": the first key encrypts.

FIELD_ENCRYPTION_KEYS = env("FIELD_ENCRYPTION_KEYS", "")
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", "")
BACKUP_ENCRYPTION_KEY = env("BACKUP_ENCRYPTION_KEY", "")
ENCRYPTION_KEY_FILE = env("ENCRYPTION_KEY_FILE", "")

# --- Data-subject rights and retention (privacy/) ---------------------------------------------

# Erasures are also appended here: a database restored from an older backup replays them.
ERASURE_LEDGER_PATH = env("ERASURE_LEDGER_PATH", str(BASE_DIR / "var" / "erasure-ledger.jsonl"))
ERASURE_FRESH_TOKEN_SECONDS = 300
EXPORT_RATE = env("EXPORT_RATE", "10/h")
# Security records are kept at least a year (enforce_retention refuses less).
AUTH_EVENT_RETENTION_DAYS = int(env("AUTH_EVENT_RETENTION_DAYS", "365"))
ACCESS_RECORD_RETENTION_DAYS = int(env("ACCESS_RECORD_RETENTION_DAYS", "365"))
AUDIT_LOG_RETENTION_DAYS = int(env("AUDIT_LOG_RETENTION_DAYS", "365"))

# --- Garage -----------------------------------------------------------------------------------

GARAGE_BAYS = int(env("GARAGE_BAYS", "4"))  # appointments per slot
GARAGE_SLOT_MINUTES = 60
GARAGE_SERVICE_INTERVAL_DAYS = 365
GARAGE_SERVICE_INTERVAL_KM = 10000
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024

# Demo data of each app, run in order by `manage.py seed_demo` after the demo users.
SEED_DEMO_STEPS = ["garage.seed.seed_garage", "invoices.seed.seed_invoices_demo"]

# --- Passwords --------------------------------------------------------------------------------

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
PASSWORD_HISTORY_DEPTH = 5
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username",)},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.CharacterClassesValidator"},
    {"NAME": "accounts.validators.PasswordHistoryValidator"},
]

# --- Security switches (tightened in production.py) --------------------------------------------

TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES", "")
# The admin site answers only to these client networks (nginx applies the same list in front).
ADMIN_ALLOWED_NETWORKS = env_networks("ADMIN_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/api/.*$"
CSRF_TRUSTED_ORIGINS = CORS_ALLOWED_ORIGINS
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        # The API documentation page carries an inline <style> block.
        "style-src": ["'self'", "'unsafe-inline'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}

# --- REST framework and tokens ----------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    # Deny by default: authenticated, and the view must declare the caller's role.
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.RolePermission"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # No OPTIONS self-description (CORS preflights are answered by django-cors-headers).
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # `?format=` is an API parameter here (the export's json/zip), not renderer selection.
    "URL_FORMAT_OVERRIDE": None,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(hours=1),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "user_id",
}

# Web clients: the refresh token travels only in this cookie, scoped to the token endpoints.
REFRESH_COOKIE_NAME = "ecar_refresh"
REFRESH_COOKIE_PATH = "/api/token/"
REFRESH_COOKIE_SECURE = True

# Login throttling (django-ratelimit): per client IP and per attempted username.
LOGIN_RATE_PER_IP = env("LOGIN_RATE_PER_IP", "20/10m")
LOGIN_RATE_PER_USERNAME = env("LOGIN_RATE_PER_USERNAME", "5/10m")
PASSWORD_CHECK_RATE = env("PASSWORD_CHECK_RATE", "5/10m")
RATELIMIT_IP_META_KEY = "accounts.network.client_ip"

# --- Multi-factor authentication (accounts/mfa.py) ----------------------------------------------
# Staff (super-admins, technicians) without a device can only enrol one when this is on; anyone
# with a confirmed device always needs a code. Production forces it on.
STAFF_MFA_REQUIRED = env_flag("STAFF_MFA_REQUIRED", "true")
OTP_TOTP_ISSUER = "ECAR"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
MFA_CHALLENGE_SECONDS = 300
MFA_RECOVERY_CODE_COUNT = 10
MFA_RATE_PER_IP = env("MFA_RATE_PER_IP", "20/10m")
MFA_RATE_PER_USER = env("MFA_RATE_PER_USER", "5/10m")

SPECTACULAR_SETTINGS = {
    "TITLE": "ECAR garage API",
    "DESCRIPTION": "Customers, vehicles, service orders and invoices of the ECAR garage.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["accounts.permissions.RolePermission"],
    "SERVE_AUTHENTICATION": [],
}

# --- Audit ------------------------------------------------------------------------------------

AUDITLOG_INCLUDE_ALL_MODELS = False

# --- Logging ----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_query_string": {"()": "config.logging.StripQueryStringFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "server": {"format": "[%(asctime)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["no_query_string"],
        },
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.security.DisallowedHost": {"level": "ERROR"},
        # runserver's access log: exact searches (phone, e-mail, plate) travel in query strings.
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
}

# --- Error tracking (no personal data leaves the process) -------------------------------------

SENTRY_DSN = env("SENTRY_DSN", "")
init_sentry(dsn=SENTRY_DSN, environment=env("SENTRY_ENVIRONMENT", "production"))
