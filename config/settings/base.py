"""Settings shared by every environment; secrets and hosts come from the environment."""

from datetime import timedelta

import dj_database_url
from csp.constants import NONCE

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
    "notifications",
    "backups",
    "incidents",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.middleware.ClientIPMiddleware",
    "accounts.middleware.AdminAllowListMiddleware",
    "incidents.middleware.BlockedNetworkMiddleware",
    "config.middleware.ApiNoStoreMiddleware",
    "config.middleware.ApiErrorMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "config.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.ApiRoutingMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that its refusals carry the headers above; still before any view's CSRF check.
    "config.middleware.RequestLimitsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # config/templates: drf-spectacular's Swagger page with a CSP nonce.
        "DIRS": [BASE_DIR / "config" / "templates"],
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
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            # Redis down or hung: fail in half a second (503), never hold a worker.
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
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
# Request limits (config/middleware.py), checked before parsing: a multipart body may carry one
# document (DOCUMENT_MAX_BYTES) plus the form's overhead; nginx's client_max_body_size is the same.
API_MAX_UPLOAD_BYTES = FILE_UPLOAD_MAX_MEMORY_SIZE
API_JSON_MAX_DEPTH = 32

# --- Encryption keys (privacy/keys.py) --------------------------------------------------------
# Either the two variables, or ENCRYPTION_KEY_FILE: a JSON file of mode 0600 holding them.
# FIELD_ENCRYPTION_KEYS is an ordered ring "k2:<base64>,k1:<base64>": the first key encrypts.

FIELD_ENCRYPTION_KEYS = env("FIELD_ENCRYPTION_KEYS", "")
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", "")
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

# --- Backups (backups/) -----------------------------------------------------------------------
# Encrypted to GnuPG public keys only: the private keys that read backups never sit on this host.

BACKUP_DIR = env("BACKUP_DIR", "/backups")
BACKUP_GPG_RECIPIENT = env_list("BACKUP_GPG_RECIPIENT", "")  # fingerprints (or e-mails)
GNUPGHOME = env("GNUPGHOME", "")  # empty: gpg's own default (~/.gnupg)
BACKUP_FILE_MODE = int(env("BACKUP_FILE_MODE", "0600"), 8)
BACKUP_KEEP_DAILY = int(env("BACKUP_KEEP_DAILY", "7"))
BACKUP_KEEP_WEEKLY = int(env("BACKUP_KEEP_WEEKLY", "4"))
BACKUP_KEEP_MONTHLY = int(env("BACKUP_KEEP_MONTHLY", "12"))
BACKUP_MAX_AGE_HOURS = int(env("BACKUP_MAX_AGE_HOURS", "26"))
BACKUP_DRILL_MAX_AGE_DAYS = int(env("BACKUP_DRILL_MAX_AGE_DAYS", "8"))
# The off-site copy: key login only, host key pinned in BACKUP_SFTP_KNOWN_HOSTS.
BACKUP_SFTP_HOST = env("BACKUP_SFTP_HOST", "")
BACKUP_SFTP_PORT = int(env("BACKUP_SFTP_PORT", "22"))
BACKUP_SFTP_USER = env("BACKUP_SFTP_USER", "")
BACKUP_SFTP_KEY_FILE = env("BACKUP_SFTP_KEY_FILE", "")
BACKUP_SFTP_KNOWN_HOSTS = env("BACKUP_SFTP_KNOWN_HOSTS", "")
BACKUP_SFTP_DIR = env("BACKUP_SFTP_DIR", "ecar")
BACKUP_SFTP_RETRIES = int(env("BACKUP_SFTP_RETRIES", "3"))
BACKUP_SFTP_RETRY_SECONDS = float(env("BACKUP_SFTP_RETRY_SECONDS", "20"))

# --- Data residency (config/residency.py) ---------------------------------------------------
# Hosts in Tunisia the application may send data to (SFTP, Sentry, e-mail, gateways); none by
# default. Loopback needs no entry.
DATA_RESIDENCY_ALLOWED_HOSTS = env_list("DATA_RESIDENCY_ALLOWED_HOSTS", "")

# --- Garage -----------------------------------------------------------------------------------

GARAGE_BAYS = int(env("GARAGE_BAYS", "4"))  # appointments per slot
GARAGE_SLOT_MINUTES = 60
GARAGE_SERVICE_INTERVAL_DAYS = 365
GARAGE_SERVICE_INTERVAL_KM = 10000
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024

# Demo data of each app, run in order by `manage.py seed_demo` after the demo users.
SEED_DEMO_STEPS = ["garage.seed.seed_garage", "invoices.seed.seed_invoices_demo"]

# --- Notifications (notifications/): the outbox and its worker --------------------------------

DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "ECAR <no-reply@ecar.example.tn>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env("EMAIL_USE_TLS", "false").lower() == "true"
# A row stays locked while its message is handed over: never wait on a server for long.
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "30"))
# A notifications.sms.BaseSmsBackend; the default fails every SMS until a gateway is configured.
SMS_BACKEND = env("SMS_BACKEND", "notifications.sms.UnconfiguredSmsBackend")
SMS_FILE_PATH = env("SMS_FILE_PATH", str(BASE_DIR / "var" / "sms"))
NOTIFICATIONS_DEFAULT_LANGUAGE = "fr"
NOTIFICATIONS_MAX_ATTEMPTS = int(env("NOTIFICATIONS_MAX_ATTEMPTS", "6"))
NOTIFICATIONS_RETRY_BASE_SECONDS = int(env("NOTIFICATIONS_RETRY_BASE_SECONDS", "60"))
NOTIFICATIONS_RETRY_MAX_SECONDS = 6 * 3600
NOTIFICATIONS_POLL_SECONDS = float(env("NOTIFICATIONS_POLL_SECONDS", "10"))
# Sent and failed messages (address and content included) are purged by enforce_retention.
NOTIFICATIONS_RETENTION_DAYS = int(env("NOTIFICATIONS_RETENTION_DAYS", "180"))

# --- El Fatoora e-invoicing (invoices/teif/) ---------------------------------------------------

# On: issuing refuses an invoice that cannot be valid TEIF, and documents are signed and exported.
TEIF_ENABLED = env("TEIF_ENABLED", "false").strip().lower() in {"1", "true", "yes", "on"}
TEIF_SIGNING_CERT = env("TEIF_SIGNING_CERT", "")  # PKCS#12 file: certificate, key and chain
TEIF_SIGNING_PASSPHRASE_FILE = env("TEIF_SIGNING_PASSPHRASE_FILE", "")
TEIF_OUTBOX_DIR = env("TEIF_OUTBOX_DIR", str(BASE_DIR / "var" / "teif-outbox"))

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
# The one Content-Security-Policy (nginx sends none): only the app can give each response its
# own nonce, and the pages that need inline code (Swagger's style block) are the app's.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "report-uri": ["/api/csp-report/"],
    }
}

# --- REST framework and tokens ----------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    # Deny by default: authenticated, and the view must declare the caller's role.
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.RolePermission"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # No OPTIONS self-description (CORS preflights are answered by django-cors-headers).
    "DEFAULT_METADATA_CLASS": None,
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "config.filters.FilterBackend",
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
    "ENUM_NAME_OVERRIDES": {
        "SecurityAlertStatusEnum": "incidents.models.SecurityAlert.Status",
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "ServiceOrderStatusEnum": "garage.models.ServiceOrder.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.document_error_responses",
        "config.schema.close_response_objects",
    ],
}

# --- Audit ------------------------------------------------------------------------------------

AUDITLOG_INCLUDE_ALL_MODELS = False

# --- Tamper evidence, detectors, alerts and incidents (incidents/) ----------------------------

# HMAC-SHA256 key of the audit seals: 32 random bytes, urlsafe base64 (dev generates one).
AUDIT_SEAL_KEY = env("AUDIT_SEAL_KEY", "")
# Records younger than this wait for the next pass: their transaction may not be committed yet.
SECURITY_RECORD_GRACE_SECONDS = int(env("SECURITY_RECORD_GRACE_SECONDS", "120"))
# Detector thresholds: an alert when the count within the window reaches the threshold.
DETECT_BRUTE_FORCE_FAILURES = int(env("DETECT_BRUTE_FORCE_FAILURES", "10"))
DETECT_BRUTE_FORCE_MINUTES = int(env("DETECT_BRUTE_FORCE_MINUTES", "15"))
DETECT_STUFFING_ACCOUNTS = int(env("DETECT_STUFFING_ACCOUNTS", "8"))
DETECT_STUFFING_MINUTES = int(env("DETECT_STUFFING_MINUTES", "15"))
DETECT_MASS_READ_PEOPLE = int(env("DETECT_MASS_READ_PEOPLE", "25"))
DETECT_MASS_READ_MINUTES = int(env("DETECT_MASS_READ_MINUTES", "10"))
DETECT_EXPORT_BURST = int(env("DETECT_EXPORT_BURST", "5"))
DETECT_ERASURE_BURST = int(env("DETECT_ERASURE_BURST", "5"))
DETECT_BURST_MINUTES = int(env("DETECT_BURST_MINUTES", "60"))
DETECT_ADMIN_NETWORK_PREFIX_V4 = int(env("DETECT_ADMIN_NETWORK_PREFIX_V4", "24"))
DETECT_ADMIN_NETWORK_PREFIX_V6 = int(env("DETECT_ADMIN_NETWORK_PREFIX_V6", "48"))
DETECT_ADMIN_NETWORK_HISTORY_DAYS = int(env("DETECT_ADMIN_NETWORK_HISTORY_DAYS", "90"))
DETECT_INACTIVE_DAYS = int(env("DETECT_INACTIVE_DAYS", "180"))
# Staff activity outside these local hours and weekdays (Monday = 0) is reported.
DETECT_STAFF_HOURS = env("DETECT_STAFF_HOURS", "07:00-20:00")
DETECT_STAFF_WEEKDAYS = [int(day) for day in env_list("DETECT_STAFF_WEEKDAYS", "0,1,2,3,4,5")]
# The same pattern again within this many hours updates the open alert instead of a new one.
ALERT_DEDUPE_HOURS = int(env("ALERT_DEDUPE_HOURS", "24"))
# Each worker re-reads the blocked networks from the cache at most this often (a block made in
# another worker takes effect there within this many seconds; 0: on every request).
NETWORK_BLOCKS_REFRESH_SECONDS = float(env("NETWORK_BLOCKS_REFRESH_SECONDS", "5"))
# Who the garage is and how people reach it about a breach (notices and the INPDP report).
INCIDENT_CONTROLLER = env("INCIDENT_CONTROLLER", "ECAR garage")
INCIDENT_CONTACT = env("INCIDENT_CONTACT", "")

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
