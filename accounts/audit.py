"""What django-auditlog tracks in this app (secrets and counters excluded, personal data masked)."""

from auditlog.registry import auditlog

from accounts.models import Profile, User
from privacy.audit import register_personal_model

auditlog.register(User, exclude_fields=["password", "last_login", "token_generation"])
register_personal_model(Profile, exclude_fields=["updated_at"])
