"""Daily backup: database, media and erasure ledger encrypted to public keys, then off-site."""

import sys

from django.core.management.base import BaseCommand, CommandError

from backups.errors import BackupError
from backups.services import backup_create

EXIT_FAILED = 1
EXIT_OFFSITE_FAILED = 2


class Command(BaseCommand):
    help = (
        "Back up the database, media files and erasure ledger into BACKUP_DIR, encrypted to "
        "BACKUP_GPG_RECIPIENT, with a manifest; apply the retention; copy off-site over SFTP. "
        "Exit status: 0 done, 1 no backup made, 2 backup made but the off-site copy failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-offsite", action="store_true", help="Skip the SFTP copy (a local backup only)."
        )

    def handle(self, *args, no_offsite, verbosity, **options):
        by_hand = verbosity >= 2 or (verbosity >= 1 and sys.stdout.isatty())

        def progress(message):
            if by_hand:
                self.stderr.write(f"  {message}…")

        try:
            result = backup_create(progress=progress, offsite=not no_offsite)
        except BackupError as exc:
            raise CommandError(f"backup FAILED: {exc}", returncode=EXIT_FAILED) from exc
        if result.offsite_error:
            raise CommandError(result.summary(), returncode=EXIT_OFFSITE_FAILED)
        self.stdout.write(result.summary())
