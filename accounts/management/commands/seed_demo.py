"""Demo data for development: 1 super-admin, 3 technicians, 20 customers."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Role, User
from accounts.services import user_create
from config.exceptions import ApplicationError

DEFAULT_PASSWORD = "Demo-Garage#2026"
DEMO_USERS = {
    Role.SUPER_ADMIN: ["admin"],
    Role.TECHNICIAN: [f"tech{n}" for n in range(1, 4)],
    Role.CUSTOMER: [f"customer{n:02d}" for n in range(1, 21)],
}


class Command(BaseCommand):
    help = "Create demo users (never in production). Existing demo users are left as they are."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password of every user.")
        parser.add_argument("--json", action="store_true", help="Print the usernames as JSON.")

    def handle(self, *args, **options):
        if settings.ENVIRONMENT == "production":
            raise CommandError("seed_demo refuses to run with production settings.")
        try:
            created = self._create_users(options["password"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {exc.extra}") from exc
        if options["json"]:
            self.stdout.write(json.dumps({str(role): names for role, names in DEMO_USERS.items()}))
            return
        self.stdout.write(f"{created} demo users created; password: {options['password']}")
        for role, usernames in DEMO_USERS.items():
            self.stdout.write(f"  {role}: {', '.join(usernames)}")

    @transaction.atomic
    def _create_users(self, password: str) -> int:
        created = 0
        for role, usernames in DEMO_USERS.items():
            for username in usernames:
                if not User.objects.filter(username=username).exists():
                    user_create(username=username, password=password, role=role)
                    created += 1
        return created
