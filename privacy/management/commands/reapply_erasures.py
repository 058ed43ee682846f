"""After restoring a backup, erase again everyone the erasure ledger lists."""

from pathlib import Path

from django.core.management.base import BaseCommand

from privacy.erasure import ledger_read
from privacy.services import ledger_reapply


class Command(BaseCommand):
    help = (
        "Re-apply the erasure ledger file (ERASURE_LEDGER_PATH, kept outside the database) to a "
        "database restored from an older backup, so no erased person comes back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ledger", type=Path, help="Another ledger file to read.")

    def handle(self, *args, ledger, **options):
        entries = ledger_read(ledger)
        erased = ledger_reapply(entries=entries)
        self.stdout.write(f"{len(entries)} ledger entries; {erased} people erased again.")
