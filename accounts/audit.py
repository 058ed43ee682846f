"""What django-auditlog tracks in this app (secrets and counters excluded, personal data masked)."""

from auditlog.registry import auditlog

from accounts.models import Profile, RecoveryCodeDevice, TOTPDevice, User
from privacy.audit import register_personal_model

auditlog.register(User, exclude_fields=["password", "last_login", "token_generation"])
register_personal_model(Profile, exclude_fields=["updated_at"])
# Enrolments and resets are audited; the device secrets and verification counters are not.
auditlog.register(
    TOTPDevice,
    exclude_fields=[
        "key",
        "last_t",
        "drift",
        "last_used_at",
        "throttling_failure_timestamp",
        "throttling_failure_count",
    ],
)
auditlog.register(
    RecoveryCodeDevice,
    exclude_fields=["last_used_at", "throttling_failure_timestamp", "throttling_failure_count"],
)
