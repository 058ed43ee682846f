"""Fixtures for the privacy tests: fresh random keys in settings for every test that asks."""

from types import SimpleNamespace

import pytest

from privacy.keys import generate_key, reset_keys_cache


@pytest.fixture
def key_settings(settings):
    """Configure a one-key ring (k1) plus the index key; return the raw b64 keys."""
    keys = SimpleNamespace(k1=generate_key(), k2=generate_key(), index=generate_key())
    settings.ENCRYPTION_KEY_FILE = ""
    settings.FIELD_ENCRYPTION_KEYS = f"k1:{keys.k1}"
    settings.BLIND_INDEX_KEY = keys.index
    reset_keys_cache()
    yield keys
    reset_keys_cache()
