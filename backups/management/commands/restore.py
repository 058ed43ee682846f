"""The real restore: a backup set into the live database and MEDIA_ROOT, then reapply_erasures."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from backups.drill import restore_live
from backups.errors import BackupError


class Command(BaseCommand):
    help = (
        "Restore a backup set over the live database (everything in it is replaced) and into "
        "MEDIA_ROOT, merge the erasure ledgers into ERASURE_LEDGER_PATH, migrate, then run "
        "reapply_erasures. Needs a private key of a backup recipient in the keyring."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The backup set directory to restore.")
        parser.add_argument(
            "--ledger",
            type=Path,
            action="append",
            default=[],
            help="Another erasure ledger file (e.g. the latest off-site copy, decrypted).",
        )
        parser.add_argument(
            "--confirm",
            metavar="DATABASE",
            help="The live database's name, to confirm without a prompt.",
        )

    def handle(self, *args, path, ledger, confirm, **options):
        name = connection.settings_dict["NAME"]
        if confirm is None and sys.stdin.isatty():
            confirm = input(f"This replaces everything in the database {name}. Type its name: ")
        if confirm != name:
            raise CommandError(f"Not confirmed: pass --confirm {name} to restore over it.")

        def progress(message):
            self.stderr.write(f"  {message}…")

        try:
            result = restore_live(set_dir=path, ledgers=ledger, progress=progress)
        except BackupError as exc:
            raise CommandError(f"restore FAILED: {exc}") from exc
        self.stdout.write(
            f"restored {result['backup']} into {name}: {result['media_files']} media files, "
            f"{result['ledger_entries']} erasures re-applied from the ledger"
        )
