"""Helpers the apps' erasure functions share: scrubbing audit rows, the erasure ledger file."""

import json
import os
from pathlib import Path

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType

from privacy.signals import records_changed

ERASED = "[erased]"


def audit_scrub(model, pks) -> int:
    """Remove personal data from django-auditlog rows about these objects; keep when and what."""
    content_type = ContentType.objects.get_for_model(model)
    entries = list(
        LogEntry.objects.filter(
            content_type=content_type, object_pk__in=[str(pk) for pk in pks]
        ).values_list("pk", flat=True)
    )
    updated = LogEntry.objects.filter(pk__in=entries).update(
        object_repr=ERASED,
        changes={},
        changes_text="",
        serialized_data=None,
        additional_data=None,
        remote_addr=None,
    )
    records_changed(LogEntry, entries, reason="erasure")
    return updated


def audit_scrub_actor(user) -> int:
    """Forget where a person's own actions came from (their IP addresses)."""
    entries = list(LogEntry.objects.filter(actor=user).values_list("pk", flat=True))
    updated = LogEntry.objects.filter(pk__in=entries).update(remote_addr=None, actor_email=None)
    records_changed(LogEntry, entries, reason="erasure")
    return updated


def ledger_path() -> Path:
    return Path(settings.ERASURE_LEDGER_PATH)


def ledger_append(entry: dict) -> None:
    """Append one erasure to the ledger file (kept outside the database and its backups)."""
    path = ledger_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def ledger_read(path: Path | None = None) -> list[dict]:
    """Every erasure recorded in the ledger file, oldest first."""
    path = path or ledger_path()
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
