"""Hourly: report a failed or overdue backup, ledger copy or restore drill at ERROR level."""

from django.core.management.base import BaseCommand, CommandError

from backups.services import backup_status_report


class Command(BaseCommand):
    help = (
        "Log at ERROR (and so to Sentry) when the last backup, off-site copy, ledger copy or "
        "restore drill failed or is overdue; exit status 1 then."
    )

    def handle(self, *args, **options):
        problems = backup_status_report()
        if problems:
            raise CommandError("backups need attention: " + "; ".join(problems))
        self.stdout.write("backups ok")
