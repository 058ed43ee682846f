"""What the backup machinery did: backups, off-site ledger copies and restore drills."""

from django.db import models


class BackupRun(models.Model):
    """One backup, ledger shipment or restore drill, with its outcome; never personal data."""

    class Kind(models.TextChoices):
        BACKUP = "backup", "Backup"
        LEDGER = "ledger", "Erasure ledger shipped off-site"
        DRILL = "drill", "Restore drill"

    class Status(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    class Offsite(models.TextChoices):
        OK = "ok", "Copied"
        FAILED = "failed", "Copy failed"
        NONE = "", "-"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    name = models.CharField(max_length=64, blank=True, help_text="Backup set name.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    offsite = models.CharField(max_length=10, choices=Offsite.choices, blank=True)
    rpo_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Age of the restored backup when the drill ran."
    )
    rto_seconds = models.FloatField(null=True, blank=True, help_text="Time the drill took.")
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of what was copied.")
    report_file = models.CharField(max_length=64, blank=True, help_text="Drill report file.")
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-finished_at"]
        indexes = [models.Index(fields=["kind", "status", "-finished_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.status} at {self.finished_at:%Y-%m-%d %H:%M}"
