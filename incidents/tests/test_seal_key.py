"""The audit seal key: checked by `manage.py check` (production refuses to start without it)."""

import base64

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from privacy.keys import generate_key, get_keys


def test_a_good_seal_key_passes(settings):
    settings.AUDIT_SEAL_KEY = generate_key()
    call_command("check")


@pytest.mark.parametrize("value", ["", "not base64!", "c2hvcnQ", "A" * 43])
def test_a_missing_malformed_or_weak_seal_key_is_reported(settings, value):
    settings.AUDIT_SEAL_KEY = value
    with pytest.raises(SystemCheckError, match=r"incidents\.E001"):
        call_command("check")


def test_a_seal_key_reused_as_an_encryption_key_is_reported(settings):
    settings.AUDIT_SEAL_KEY = base64.urlsafe_b64encode(get_keys().index_key).decode()
    with pytest.raises(SystemCheckError, match="also used as an encryption key"):
        call_command("check")
