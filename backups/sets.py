"""A backup set on disk: its name, manifest, checksums, and which sets the retention keeps."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from backups.errors import BackupError

DATABASE_FILE = "database.psql.bin.gpg"
MEDIA_FILE = "media.tar.gpg"
LEDGER_FILE = "erasure-ledger.jsonl.gpg"
MANIFEST_FILE = "manifest.json"
PAYLOAD_FILES = (DATABASE_FILE, MEDIA_FILE, LEDGER_FILE)
MANIFEST_FORMAT = 1

_NAME_RE = re.compile(r"^ecar-(\d{8}T\d{6}Z)$")
_NAME_TIME = "%Y%m%dT%H%M%SZ"


def set_name(when: datetime) -> str:
    """`ecar-20261203T013000Z`: sorts by time, carries its UTC time."""
    return f"ecar-{when.astimezone(UTC):{_NAME_TIME}}"


def set_time(name: str) -> datetime | None:
    """The time in a set's name, or None for anything that is not a complete set."""
    match = _NAME_RE.match(name)
    if not match:
        return None
    return datetime.strptime(match.group(1), _NAME_TIME).replace(tzinfo=UTC)


def set_names(names) -> list[str]:
    """The complete sets among directory entries, oldest first."""
    return sorted(name for name in names if set_time(name))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(set_dir: Path) -> dict:
    try:
        manifest = json.loads((set_dir / MANIFEST_FILE).read_text())
    except FileNotFoundError:
        raise BackupError(f"{set_dir.name} has no {MANIFEST_FILE}.") from None
    except ValueError:
        raise BackupError(f"{set_dir.name}/{MANIFEST_FILE} is not valid JSON.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"{set_dir.name}/{MANIFEST_FILE} is not a manifest of this format.")
    return manifest


def verify_files(set_dir: Path, manifest: dict) -> None:
    """Every file the manifest lists is there with its size and SHA-256, and nothing else."""
    listed = manifest.get("files") or {}
    present = {p.name for p in set_dir.iterdir()} - {MANIFEST_FILE}
    if set(listed) != present or set(listed) != set(PAYLOAD_FILES):
        raise BackupError(
            f"{set_dir.name}: files {sorted(present)} do not match the manifest {sorted(listed)}."
        )
    for name, expected in listed.items():
        path = set_dir / name
        if path.stat().st_size != expected["size"] or sha256_file(path) != expected["sha256"]:
            raise BackupError(f"{set_dir.name}/{name} does not match its SHA-256 in the manifest.")


def retained(names, *, daily: int, weekly: int, monthly: int) -> set[str]:
    """The sets kept: the newest of each of the last `daily` days, ISO weeks and months."""
    dated = sorted(((set_time(name), name) for name in set_names(names)), reverse=True)
    buckets = (
        (daily, lambda t: t.date()),
        (weekly, lambda t: t.isocalendar()[:2]),
        (monthly, lambda t: (t.year, t.month)),
    )
    keep = set()
    for count, bucket_of in buckets:
        seen = set()
        for when, name in dated:
            bucket = bucket_of(when)
            if bucket in seen:
                continue
            if len(seen) == count:
                break
            seen.add(bucket)
            keep.add(name)
    return keep
