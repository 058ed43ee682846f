"""Local development: runs with no setup; secrets are generated into the git-ignored .secrets/."""

from config.env import SECRETS_DIR, dev_secret, env, env_flag, env_list
from privacy.keys import write_dev_key_file

from .base import *  # noqa: F403
from .base import BLIND_INDEX_KEY, FIELD_ENCRYPTION_KEYS, REDIS_URL

ENVIRONMENT = "dev"
DEBUG = True
SECRET_KEY = env("SECRET_KEY", "") or dev_secret("django_secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
REFRESH_COOKIE_SECURE = False
AUDIT_SEAL_KEY = env("AUDIT_SEAL_KEY", "") or dev_secret("audit_seal_key", 32)
# Messages from the outbox are printed, not sent.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
SMS_BACKEND = env("SMS_BACKEND", "notifications.sms.ConsoleSmsBackend")
# Relaxed so that `make run` + the README's curl flow work with a password alone for staff
# without a device (STAFF_MFA_REQUIRED=true to try the production behaviour).
STAFF_MFA_REQUIRED = env_flag("STAFF_MFA_REQUIRED", "false")

if not (FIELD_ENCRYPTION_KEYS or BLIND_INDEX_KEY):
    ENCRYPTION_KEY_FILE = env("ENCRYPTION_KEY_FILE", "") or str(
        write_dev_key_file(SECRETS_DIR / "encryption_keys.json")
    )

if not REDIS_URL:
    # Without Redis, a per-process cache: fine for one dev server, wrong for several workers,
    # which is why django-ratelimit's check is silenced here and nowhere else.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
