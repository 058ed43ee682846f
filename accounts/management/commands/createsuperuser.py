"""Django's createsuperuser, with the password policy on every path and no way to bypass it."""

import getpass
import os

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.management import get_default_username
from django.contrib.auth.management.commands import createsuperuser
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

PASSWORD_TRIES = 3


class Command(createsuperuser.Command):
    def handle(self, *args, **options):
        if options["interactive"]:
            return self._handle_interactive(options)
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if password:
            User = get_user_model()
            username = options.get(User.USERNAME_FIELD) or os.environ.get(
                "DJANGO_SUPERUSER_USERNAME", ""
            )
            self._check_password(password, username)
        return super().handle(*args, **options)

    def _handle_interactive(self, options):
        """Prompt for a username and a password that passes the policy, with no bypass."""
        # Django's own prompt offers "Bypass password validation and create user anyway?".
        if hasattr(self.stdin, "isatty") and not self.stdin.isatty():
            raise CommandError(
                "Not running in a terminal: use --noinput with DJANGO_SUPERUSER_USERNAME and "
                "DJANGO_SUPERUSER_PASSWORD."
            )
        database = options["database"]
        username = self._prompt_username(options[self.UserModel.USERNAME_FIELD], database)
        password = self._prompt_password(username)
        manager = self.UserModel._default_manager.db_manager(database)
        manager.create_superuser(username=username, password=password)
        if options["verbosity"] >= 1:
            self.stdout.write("Superuser created successfully.")

    def _prompt_username(self, username, database) -> str:
        label = self.username_field.verbose_name
        default = get_default_username(database=database)
        while True:
            if not username:
                message = self._get_input_message(self.username_field, default)
                username = self.get_input_data(self.username_field, message, default)
            error = self._validate_username(username, label, database) if username else None
            if username and not error:
                return username
            if error:
                self.stderr.write(error)
            username = None

    def _prompt_password(self, username: str) -> str:
        for _ in range(PASSWORD_TRIES):
            password = getpass.getpass()
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("Error: Your passwords didn't match.")
                continue
            try:
                self._check_password(password, username)
            except CommandError as exc:
                self.stderr.write(str(exc))
                continue
            return password
        raise CommandError(f"No superuser created after {PASSWORD_TRIES} refused passwords.")

    def _check_password(self, password: str, username: str) -> None:
        try:
            password_validation.validate_password(password, self.UserModel(username=username))
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
