"""Demo data for development: 1 super-admin, 3 technicians, 20 customers."""

import json
import random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import import_string

from accounts.models import Role, User
from accounts.services import user_create
from config.exceptions import ApplicationError
from privacy.models import ErasureLedgerEntry

DEFAULT_PASSWORD = "Demo-Garage#2026"
FIRST_NAMES = [
    "Mohamed",
    "Ahmed",
    "Youssef",
    "Amine",
    "Skander",
    "Aziz",
    "Hamza",
    "Walid",
    "Karim",
    "Sami",
    "Ines",
    "Amira",
    "Syrine",
    "Mariem",
    "Nour",
    "Rania",
    "Sarra",
    "Yasmine",
    "Olfa",
    "Hela",
]
LAST_NAMES = [
    "Ben Ali",
    "Trabelsi",
    "Jaziri",
    "Gharbi",
    "Hammami",
    "Mejri",
    "Chebbi",
    "Ayari",
    "Bouzid",
    "Khemiri",
    "Ben Salah",
    "Dridi",
    "Saidi",
    "Jlassi",
    "Mansouri",
    "Haddad",
    "Zouari",
    "Masmoudi",
]
STREETS = [
    ("rue de Marseille", "1001 Tunis"),
    ("avenue Habib Bourguiba", "1000 Tunis"),
    ("rue Ibn Khaldoun", "2080 Ariana"),
    ("avenue de la République", "4000 Sousse"),
    ("route de Gabès km 3", "3000 Sfax"),
    ("rue Farhat Hached", "5000 Monastir"),
    ("avenue Hédi Chaker", "8000 Nabeul"),
    ("rue du Lac Léman", "1053 Les Berges du Lac"),
]
MOBILE_PREFIXES = ["2", "5", "9", "4"]
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
        parser.add_argument(
            "--recreate-erased",
            action="store_true",
            help="Also create again the demo accounts that were erased (as new, empty accounts).",
        )

    def handle(self, *args, **options):
        if settings.ENVIRONMENT == "production":
            raise CommandError("seed_demo refuses to run with production settings.")
        try:
            with transaction.atomic():
                not_recreated = self._erased_demo_usernames(options["recreate_erased"])
                created = self._create_users(options["password"], skip=not_recreated)
                steps = self._run_steps()
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {exc.extra}") from exc
        if options["json"]:
            self.stdout.write(json.dumps({str(role): names for role, names in DEMO_USERS.items()}))
            return
        self.stdout.write(f"{created} demo users created; password: {options['password']}")
        if not_recreated:
            self.stdout.write(
                f"Not recreated (erased at the person's request): {', '.join(not_recreated)}; "
                "seed_demo --recreate-erased creates new accounts under these names."
            )
        for role, usernames in DEMO_USERS.items():
            self.stdout.write(f"  {role}: {', '.join(usernames)}")
        for name, result in steps.items():
            self.stdout.write(f"{name}: {result}")

    def _run_steps(self) -> dict:
        """The other apps' demo data (settings.SEED_DEMO_STEPS), each given the demo users."""
        users = {
            role: list(User.objects.filter(username__in=names).order_by("username"))
            for role, names in DEMO_USERS.items()
        }
        rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
        return {
            path: import_string(path)(
                admin=users[Role.SUPER_ADMIN][0],
                technicians=users[Role.TECHNICIAN],
                customer_users=users[Role.CUSTOMER],
                rng=rng,
            )
            for path in settings.SEED_DEMO_STEPS
        }

    def _erased_demo_usernames(self, recreate: bool) -> list[str]:
        """Demo usernames gone after an earlier seed while erasures are recorded: erased ones."""
        # An erasure renames the account: a demo name missing from a seeded database with
        # erasures in the ledger is taken for an erased person, not brought back silently.
        names = [name for usernames in DEMO_USERS.values() for name in usernames]
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        if recreate or not existing or not ErasureLedgerEntry.objects.exists():
            return []
        return [name for name in names if name not in existing]

    def _create_users(self, password: str, *, skip: list[str]) -> int:
        rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
        created = 0
        for role, usernames in DEMO_USERS.items():
            for username in usernames:
                contact = demo_contact(rng, username)
                if username not in skip and not User.objects.filter(username=username).exists():
                    user_create(username=username, password=password, role=role, contact=contact)
                    created += 1
        return created


def demo_contact(rng: random.Random, username: str) -> dict:
    """Plausible Tunisian contact details (the e-mail stays on a reserved demo domain)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    street, city = rng.choice(STREETS)
    return {
        "full_name": f"{first} {last}",
        "email": f"{username}@demo.ecar.tn",
        "phone": "+216" + rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}",
        "address": f"{rng.randint(1, 120)} {street}, {city}",
        # Not drawn from rng: the rest of the demo data stays what it was.
        "language": ("fr", "ar", "fr", "en")[sum(map(ord, username)) % 4],
    }
