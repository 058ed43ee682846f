"""The audit seal key: read from settings, checked like the encryption keys."""

from django.conf import settings

from privacy.keys import KEY_SIZE, decode_key

_MIN_DISTINCT_BYTES = 16


def seal_key_problems(value: str) -> list[str]:
    """Why a seal key is unusable (never its value): empty, malformed, short or weak."""
    if not (value or "").strip():
        return ["The audit seal key is missing: manage.py generate_encryption_key --kind index."]
    try:
        key = decode_key(value)
    except ValueError:
        return ["The audit seal key is not urlsafe base64."]
    if len(key) != KEY_SIZE:
        return [f"The audit seal key is {len(key)} bytes, expected {KEY_SIZE}."]
    if len(set(key)) < _MIN_DISTINCT_BYTES:
        return ["The audit seal key looks weak (too few distinct bytes)."]
    return []


def seal_key() -> bytes:
    """The configured seal key as bytes."""
    return decode_key(settings.AUDIT_SEAL_KEY)
