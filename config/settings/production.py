"""Production: every secret from the environment, refuses to start when one is missing or weak."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_list
from incidents.keys import seal_key_problems
from privacy.keys import read_key_file, validate_key_config

from .base import *  # noqa: F403
from .base import (
    BLIND_INDEX_KEY,
    DATABASES,
    ENCRYPTION_KEY_FILE,
    FIELD_ENCRYPTION_KEYS,
    STORAGES,
    TEIF_ENABLED,
    TEIF_SIGNING_CERT,
    TEIF_SIGNING_PASSPHRASE_FILE,
    redis_cache,
)


def strong_secret_key(value: str) -> str:
    """The SECRET_KEY, refused when Django's own deploy check would call it weak."""
    if len(value) < 50 or len(set(value)) < 5 or value.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak: use at least 50 random characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )
    return value


ENVIRONMENT = "production"
DEBUG = False
SECRET_KEY = strong_secret_key(env("SECRET_KEY"))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required in production.")

env("DATABASE_URL")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production runs on PostgreSQL: set DATABASE_URL to postgres://…")
# A sync worker serves one request at a time, so it keeps one persistent connection: no pool,
# and no health-check query before every request (a round trip each; Django's own check or
# psycopg_pool's). A connection that broke (the database restarted) fails that one request with
# a 503, and Django closes it after the request; the next request connects again. An
# unreachable server is given up after 2 s (503) rather than holding the worker.
DATABASES["default"]["CONN_MAX_AGE"] = 600
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DATABASES["default"]["OPTIONS"] = {"connect_timeout": 2}

# Hashed static file names: nginx serves them with a one-year cache.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}

# Rate limits must hold across gunicorn workers: Redis is required.
CACHES = {"default": redis_cache(env("REDIS_URL"))}

# Personal data cannot be written or read without its keys: refuse to start without good ones.
_key_problems = validate_key_config(
    read_key_file(ENCRYPTION_KEY_FILE)
    if ENCRYPTION_KEY_FILE
    else {
        "field_keys": FIELD_ENCRYPTION_KEYS,
        "blind_index_key": BLIND_INDEX_KEY,
    }
)
if _key_problems:
    raise ImproperlyConfigured("Encryption keys: " + " ".join(_key_problems))

# --- El Fatoora e-invoicing: no signing without a usable certificate ----------------------------

if TEIF_ENABLED:
    from invoices.teif.certificate import CertificateError, load_identity

    try:
        load_identity(TEIF_SIGNING_CERT, TEIF_SIGNING_PASSPHRASE_FILE)
    except CertificateError as exc:
        raise ImproperlyConfigured(f"TEIF_ENABLED is on but {exc}") from None

# Audit seals: without their key, tampering with the security records would go unnoticed.
AUDIT_SEAL_KEY = env("AUDIT_SEAL_KEY")
if seal_key_problems(AUDIT_SEAL_KEY):
    raise ImproperlyConfigured("AUDIT_SEAL_KEY: " + " ".join(seal_key_problems(AUDIT_SEAL_KEY)))

# --- Security switches ------------------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_AGE = 8 * 3600
REFRESH_COOKIE_SECURE = True
# Every staff account needs a second factor (ASVS 5.0 6.3.3): not configurable in production.
STAFF_MFA_REQUIRED = True
