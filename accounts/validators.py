"""Password rules beyond Django's: character classes and no reuse of recent passwords."""

import re

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError

from accounts.models import PasswordHistory


class CharacterClassesValidator:
    """At least one upper-case and one lower-case letter, one digit and one special character."""

    RULES = [
        (r"[A-Z]", "password_no_upper", "an upper-case letter"),
        (r"[a-z]", "password_no_lower", "a lower-case letter"),
        (r"[0-9]", "password_no_digit", "a digit"),
        (r"[^A-Za-z0-9]", "password_no_special", "a special character"),
    ]

    def validate(self, password, user=None):
        errors = [
            ValidationError(f"The password must contain {label}.", code=code)
            for pattern, code, label in self.RULES
            if not re.search(pattern, password)
        ]
        if errors:
            raise ValidationError(errors)

    def get_help_text(self):
        return (
            "Your password must contain an upper-case letter, a lower-case letter, a digit "
            "and a special character."
        )


class PasswordHistoryValidator:
    """Not the current password nor one of the last PASSWORD_HISTORY_DEPTH ones.

    `password_changed` is Django's hook, called by `User.save()` after any `set_password()`: the
    API, the admin, `createsuperuser` and `changepassword` all go through it.
    """

    def _depth(self) -> int:
        return settings.PASSWORD_HISTORY_DEPTH

    def validate(self, password, user=None):
        if user is None or user.pk is None:
            return
        recent = list(user.password_history.values_list("password", flat=True)[: self._depth()])
        if user.password:
            recent.append(user.password)
        if any(check_password(password, encoded) for encoded in recent):
            raise ValidationError(
                f"The password must differ from your last {self._depth()} passwords.",
                code="password_reused",
            )

    def password_changed(self, password, user=None):
        if user is None or user.pk is None:
            return
        PasswordHistory.objects.create(user=user, password=user.password)
        stale = user.password_history.values_list("pk", flat=True)[self._depth() :]
        PasswordHistory.objects.filter(pk__in=list(stale)).delete()

    def get_help_text(self):
        return f"Your password must differ from your last {self._depth()} passwords."
