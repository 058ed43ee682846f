"""System checks: a usable audit seal key, not shared with another role."""

from django.conf import settings
from django.core import checks

from incidents.keys import seal_key_problems
from privacy.keys import decode_key, get_keys


@checks.register(checks.Tags.security)
def check_seal_key(app_configs, **kwargs):
    problems = seal_key_problems(settings.AUDIT_SEAL_KEY)
    if not problems:
        try:
            ring = get_keys()
        except Exception:  # noqa: BLE001 - privacy.E001 already reports a broken key ring
            ring = None
        if ring is not None:
            others = {key for _, key in ring.field_keys} | {ring.index_key}
            if decode_key(settings.AUDIT_SEAL_KEY) in others:
                problems = ["The audit seal key is also used as an encryption key."]
    return [
        checks.Error(p, id="incidents.E001", hint="Set AUDIT_SEAL_KEY to its own random key.")
        for p in problems
    ]
