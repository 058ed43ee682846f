"""Check every auth event, access record and audit entry against its seal."""

from django.core.management.base import BaseCommand, CommandError

from incidents.sealing import seal_accept_current, verify
from incidents.services import audit_tampering_raise

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Verify the seals of the security records; exit status 1 naming the first record that "
        "was changed, removed or inserted. --accept re-seals everything as it is now (after an "
        "investigated break), recording the reason."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--accept",
            metavar="REASON",
            help="Re-seal the records as they are now, recording this reason (no verification).",
        )

    def handle(self, *args, accept, **options):
        if accept is not None:
            if not accept.strip():
                raise CommandError("--accept needs a reason.")
            counts = seal_accept_current(reason=accept.strip())
            self.stdout.write("re-sealed: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
            return
        result = verify()
        for stream, count in result.checked.items():
            self.stdout.write(f"{stream}: {count} records checked")
        if result.ok:
            self.stdout.write("audit seals intact")
            return
        for found in result.breaks[:SHOWN]:
            self.stderr.write(f"BREAK {found}")
        if len(result.breaks) > SHOWN:
            self.stderr.write(f"... and {len(result.breaks) - SHOWN} more")
        alert = audit_tampering_raise(breaks=result.breaks)
        raise CommandError(
            f"{len(result.breaks)} break(s) in the audit seals; first: {result.breaks[0]} "
            f"(alert {alert.pk})"
        )
