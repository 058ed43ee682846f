"""Every few minutes: copy the erasure ledger, encrypted, to the SFTP site when it changed."""

from django.core.management.base import BaseCommand, CommandError

from backups.errors import BackupError
from backups.services import ledger_ship


class Command(BaseCommand):
    help = (
        "Encrypt the erasure ledger (ERASURE_LEDGER_PATH) to BACKUP_GPG_RECIPIENT and replace "
        "its copy on the SFTP site when it changed since the last copy."
    )

    def handle(self, *args, **options):
        try:
            self.stdout.write(ledger_ship())
        except BackupError as exc:
            raise CommandError(f"erasure ledger copy FAILED: {exc}") from exc
