"""Weekly restore drill: restore the newest backup into a scratch database and verify it."""

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from backups.drill import drill_summary, newest_set, restore_drill, write_drill_report
from backups.errors import BackupError


class Command(BaseCommand):
    help = (
        "Restore the newest backup set in BACKUP_DIR (or PATH) into a scratch PostgreSQL database, "
        "check it against its manifest, decrypt a sample of fields and files, re-apply the "
        "erasure ledger, report RTO and RPO, and drop the scratch database. Needs a private key "
        "of a backup recipient in the keyring: run it on the recovery host or the owner's machine."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", type=Path, help="A backup set directory.")
        parser.add_argument(
            "--ledger",
            type=Path,
            action="append",
            default=[],
            help="Another erasure ledger file to re-apply (repeatable).",
        )
        parser.add_argument(
            "--no-report", action="store_true", help="Do not write BACKUP_DIR/drills/drill-*.json."
        )

    def handle(self, *args, path, ledger, no_report, verbosity, **options):
        by_hand = verbosity >= 2 or (verbosity >= 1 and sys.stdout.isatty())

        def progress(message):
            if by_hand:
                self.stderr.write(f"  {message}…")

        started = timezone.now()
        try:
            path = path or newest_set(Path(settings.BACKUP_DIR))
            report = restore_drill(path=path, ledgers=ledger, progress=progress)
        except BackupError as exc:
            report = {
                "status": "failed",
                "backup": path.name if path else "",
                "started_at": started.isoformat(),
                "finished_at": timezone.now().isoformat(),
                "error": str(exc),
            }
            report["summary"] = drill_summary(report)
            if not no_report:
                write_drill_report(report)
            raise CommandError(report["summary"]) from exc
        if not no_report:
            write_drill_report(report)
        self.stdout.write(report["summary"])
