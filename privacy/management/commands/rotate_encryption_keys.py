"""Re-encrypt every encrypted column under the active key (and, with --reindex, blind indexes)."""

from django.core.management.base import BaseCommand, CommandError

from privacy.keys import get_keys
from privacy.models import StoredFile
from privacy.rotation import (
    RotationReport,
    blind_index_fields,
    count_rows,
    encrypted_columns,
    reindex_column,
    rotate_column,
    rotate_stored_files,
)


class Progress:
    """A one-line progress bar on a terminal, plain lines otherwise."""

    def __init__(self, stream, label: str, total: int):
        self.stream, self.label, self.total, self.done = stream, label, total, 0
        self.tty = stream.isatty()

    def __call__(self, n: int) -> None:
        self.done += n
        if self.tty:
            filled = int(30 * self.done / max(self.total, 1))
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}", ending="")
            self.stream.flush()

    def finish(self) -> None:
        end = "\n" if self.tty else ""
        self.stream.write(f"{end}{self.label}: {self.done}/{self.total} rows")


class Command(BaseCommand):
    help = (
        "Re-encrypt values not under the active key (the first of FIELD_ENCRYPTION_KEYS), in "
        "batches, safe to run while the application serves requests, and resumable."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count values per key id.")
        parser.add_argument("--reindex", action="store_true", help="Also recompute blind indexes.")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, dry_run, reindex, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be positive.")
        ring = get_keys()
        self.stdout.write(f"Active key: {ring.active_id}; ring: {', '.join(ring.ids)}")
        report = RotationReport()
        for column in encrypted_columns():
            progress = Progress(self.stdout, column.label, count_rows(column.model))
            rotate_column(column, report, dry_run=dry_run, batch_size=batch_size, progress=progress)
            progress.finish()
        files = Progress(self.stdout, "stored files", StoredFile.objects.count())
        rotate_stored_files(report, dry_run=dry_run, progress=files)
        files.finish()
        self.stdout.write(f"Values per key id: {_counts(report.key_ids)}")
        self.stdout.write(f"Files per key id: {_counts(report.file_key_ids)}")
        if not dry_run:
            self.stdout.write(
                f"Re-encrypted {report.rewritten} values and {report.files_rewritten} files; "
                f"{report.skipped_concurrent} values changed concurrently (already under the "
                "active key)."
            )
        if reindex and not dry_run:
            for column in blind_index_fields():
                progress = Progress(self.stdout, column.label, count_rows(column.model))
                changed = reindex_column(column, batch_size=batch_size, progress=progress)
                progress.finish()
                self.stdout.write(f"{column.label}: {changed} index values recomputed")
        if report.failed:
            for line in report.failed:
                self.stderr.write(line)
            raise CommandError(f"{len(report.failed)} values or files could not be decrypted.")


def _counts(counter) -> str:
    return ", ".join(f"{kid}={n}" for kid, n in sorted(counter.items())) or "none"
