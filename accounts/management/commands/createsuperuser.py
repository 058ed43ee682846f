"""Django's createsuperuser, with the password policy also applied in non-interactive mode."""

import os

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.management.commands import createsuperuser
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


class Command(createsuperuser.Command):
    def handle(self, *args, **options):
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if not options["interactive"] and password:
            User = get_user_model()
            username = options.get(User.USERNAME_FIELD) or os.environ.get(
                "DJANGO_SUPERUSER_USERNAME", ""
            )
            try:
                password_validation.validate_password(password, User(username=username))
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
        return super().handle(*args, **options)
