"""Remove what is past its retention period (every app declares its rules in the registry)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from privacy.registry import registry

MINIMUM_DAYS = 365


class Command(BaseCommand):
    help = (
        "Delete auth events, access records and audit entries older than their retention "
        "(at least 365 days), expired refresh tokens, and records whose legal retention ended."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count what would go.")

    def handle(self, *args, dry_run, **options):
        for name in (
            "AUTH_EVENT_RETENTION_DAYS",
            "ACCESS_RECORD_RETENTION_DAYS",
            "AUDIT_LOG_RETENTION_DAYS",
        ):
            if getattr(settings, name) < MINIMUM_DAYS:
                raise CommandError(f"{name} must be at least {MINIMUM_DAYS} days.")
        verb = "would remove" if dry_run else "removed"
        for rule in registry.retention_rules():
            self.stdout.write(f"{rule.name}: {verb} {rule.purge(dry_run)}")
