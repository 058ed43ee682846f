"""Test run: dev settings with a fast password hash and isolated files and cache keys."""

import os
import tempfile

from .dev import *  # noqa: F403
from .dev import CACHES, STORAGES

ENVIRONMENT = "test"
PASSWORD_HASHERS = ["accounts.tests.hashers.FastArgon2PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="ecar-test-media-")
ERASURE_LEDGER_PATH = f"{MEDIA_ROOT}/erasure-ledger.jsonl"
SMS_BACKEND = "notifications.sms.FileSmsBackend"
SMS_FILE_PATH = f"{MEDIA_ROOT}/sms"
TEIF_OUTBOX_DIR = f"{MEDIA_ROOT}/teif-outbox"
STORAGES["encrypted"]["OPTIONS"]["location"] = f"{MEDIA_ROOT}/private"
CACHES["default"]["KEY_PREFIX"] = f"ecar-test-{os.getpid()}"
LOGGING = {"version": 1, "disable_existing_loggers": False}
STAFF_MFA_REQUIRED = False  # the MFA tests turn it on
NETWORK_BLOCKS_REFRESH_SECONDS = 0  # tests change the cache directly; one test turns it on
