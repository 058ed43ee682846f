"""Print a new random key in the format the settings accept."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from privacy.keys import KEY_ID_RE, format_key_entry, generate_key


class Command(BaseCommand):
    help = (
        "Print a new 32-byte key. For the field ring (FIELD_ENCRYPTION_KEYS) it is 'kid:key': "
        "put it first in the ring, keep the old keys after it, then run rotate_encryption_keys."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--kind",
            choices=["field", "index"],
            default="field",
            help="field: an entry of FIELD_ENCRYPTION_KEYS; index: BLIND_INDEX_KEY (the bare key).",
        )
        parser.add_argument("--id", dest="kid", help="Key id for a field key (default k<date>).")

    def handle(self, *args, **options):
        key = generate_key()
        if options["kind"] != "field":
            self.stdout.write(key)
            return
        kid = options["kid"] or f"k{timezone.now():%Y%m%d}"
        if not KEY_ID_RE.fullmatch(kid):
            raise CommandError("A key id is 1-16 characters among A-Z a-z 0-9 _ -.")
        self.stdout.write(format_key_entry(kid, key))
