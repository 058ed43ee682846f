"""What django-auditlog tracks in this app (secrets and counters excluded)."""

from auditlog.registry import auditlog

from accounts.models import User

auditlog.register(User, exclude_fields=["password", "last_login", "token_generation"])
