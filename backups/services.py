"""Backups: database, media and erasure ledger encrypted to public keys, a manifest, retention."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from psycopg import sql

from backups import database, gpg, sftp
from backups.errors import BackupError
from backups.models import BackupRun
from backups.sets import (
    DATABASE_FILE,
    LEDGER_FILE,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    MEDIA_FILE,
    retained,
    set_name,
    set_names,
    sha256_file,
)
from config.env import BASE_DIR
from privacy.erasure import ledger_path

logger = logging.getLogger("ecar.backups")

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    return None


@dataclass
class BackupResult:
    name: str
    size: int
    seconds: float
    files: dict
    ledger_entries: int
    media_files: int
    removed_local: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    removed_remote: list[str] = field(default_factory=list)
    offsite_error: str = ""
    offsite: bool = False

    def summary(self) -> str:
        """The one line the journal keeps."""
        if self.offsite_error:
            offsite = f"off-site copy FAILED: {self.offsite_error}"
        elif self.offsite:
            offsite = f"off-site copy ok ({len(self.uploaded)} uploaded)"
        else:
            offsite = "no off-site copy (--no-offsite)"
        return (
            f"backup {self.name}: {self.size / 2**20:.1f} MiB in {self.seconds:.1f} s "
            f"(database {self.files[DATABASE_FILE]['size'] / 2**20:.1f} MiB, "
            f"{self.media_files} media files, {self.ledger_entries} ledger entries); {offsite}; "
            f"retention removed {len(self.removed_local)} local, {len(self.removed_remote)} remote"
        )


def keep_policy() -> dict:
    return {
        "daily": settings.BACKUP_KEEP_DAILY,
        "weekly": settings.BACKUP_KEEP_WEEKLY,
        "monthly": settings.BACKUP_KEEP_MONTHLY,
    }


def app_version() -> str:
    """`git describe` of the checkout (or the VERSION file, or "unknown")."""
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", "-c", f"safe.directory={BASE_DIR}", "describe", "--always", "--dirty"],  # noqa: S607
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        version_file = BASE_DIR / "VERSION"
        return version_file.read_text().strip() if version_file.exists() else "unknown"


@contextlib.contextmanager
def _exclusive(backup_dir: Path):
    """One backup at a time in a directory (the timer and a run by hand)."""
    with open(backup_dir / ".lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"Another backup is running in {backup_dir}.") from None
        yield


def backup_dir() -> Path:
    path = Path(settings.BACKUP_DIR)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


# --- The parts of a set ------------------------------------------------------------------------


@contextlib.contextmanager
def _database_snapshot(progress: Progress):
    """A read-only snapshot of the database, exported so pg_dump sees exactly what is counted."""
    database.require_postgresql()
    with database.connect() as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        try:
            yield conn, snapshot
        finally:
            conn.rollback()


def _describe_database(conn) -> dict:
    """Row count of every table and the applied migrations, in the exported snapshot."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    counts = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, count(*) FROM {}").format(sql.Literal(t), sql.Identifier(t))
        for t in tables
    )
    return {
        "vendor": "postgresql",
        "server_version": conn.info.server_version,
        "row_counts": dict(conn.execute(counts).fetchall()) if tables else {},
        "migrations": [
            list(row)
            for row in conn.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        ],
    }


def _media_files() -> tuple[Path, list[Path]]:
    """MEDIA_ROOT's files (the encrypted documents), minus the ledger and the backups."""
    root = Path(settings.MEDIA_ROOT)
    skip = {ledger_path().resolve()}
    backups = Path(settings.BACKUP_DIR).resolve()
    files = []
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            resolved = path.resolve()
            if path.is_file() and resolved not in skip and backups not in resolved.parents:
                files.append(path)
    return root, files


def _media_part(work: Path, fingerprints: list[str], progress: Progress) -> int:
    """A tar of MEDIA_ROOT streamed into GnuPG (no plaintext copy on disk)."""
    root, files = _media_files()
    progress(f"archiving {len(files)} media files")
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []

    def produce():
        try:
            with os.fdopen(write_end, "wb") as out, tarfile.open(fileobj=out, mode="w|") as tar:
                for path in files:
                    tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    producer = threading.Thread(target=produce, name="media-tar", daemon=True)
    producer.start()
    with os.fdopen(read_end, "rb") as source:
        gpg.encrypt(source, work / MEDIA_FILE, fingerprints=fingerprints)
    producer.join()
    if failure:
        raise BackupError(f"Archiving the media files failed: {failure[0]}") from failure[0]
    return len(files)


def _ledger_part(work: Path, fingerprints: list[str]) -> int:
    path = ledger_path()
    content = path.read_bytes() if path.exists() else b""
    gpg.encrypt(io.BytesIO(content), work / LEDGER_FILE, fingerprints=fingerprints)
    return sum(1 for line in content.splitlines() if line.strip())


def _write_manifest(work: Path, manifest: dict) -> None:
    path = work / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _finalise(work: Path, final: Path) -> None:
    mode = settings.BACKUP_FILE_MODE
    for path in work.iterdir():
        path.chmod(mode)
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    work.rename(final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# --- The backup ---------------------------------------------------------------------------------


def backup_create(*, progress: Progress = _quiet, offsite: bool = True) -> BackupResult:
    """Make a backup set in BACKUP_DIR, apply the retention, then copy it off-site."""
    started = timezone.now()
    clock = time.monotonic()
    try:
        result = _backup_local(started, progress)
    except BackupError as exc:
        _record_failure(BackupRun.Kind.BACKUP, started, str(exc))
        raise
    except Exception as exc:
        _record_failure(BackupRun.Kind.BACKUP, started, f"{type(exc).__name__}: {exc}")
        raise
    result.offsite = offsite
    if offsite:
        progress("off-site copy")
        try:
            report = sftp.with_retries(_sync_offsite, what="Off-site copy")
        except BackupError as exc:
            result.offsite_error = str(exc)
        else:
            result.uploaded, result.removed_remote = report["uploaded"], report["removed"]
    result.seconds = time.monotonic() - clock
    _record_backup(started, result, offsite=offsite)
    return result


def _backup_local(started: datetime, progress: Progress) -> BackupResult:
    clock = time.monotonic()
    directory = backup_dir()
    fingerprints = gpg.recipient_fingerprints()
    name = set_name(started)
    with _exclusive(directory):
        for stale in directory.glob(".ecar-*.partial"):
            shutil.rmtree(stale)
        final = directory / name
        if final.exists():
            raise BackupError(f"{name} already exists in {directory}.")
        work = directory / f".{name}.partial"
        work.mkdir(mode=0o700)
        try:
            # pg_dump streams into GnuPG while the rest is counted, archived and encrypted.
            with (
                _database_snapshot(progress) as (conn, snapshot),
                database.dump_stream(snapshot=snapshot) as dump,
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg_dump") as pool,
            ):
                progress("pg_dump, encrypted as it streams")
                dumping = pool.submit(
                    gpg.encrypt, dump, work / DATABASE_FILE, fingerprints=fingerprints
                )
                progress("counting rows")
                db = _describe_database(conn)
                media_files = _media_part(work, fingerprints, progress)
                ledger_entries = _ledger_part(work, fingerprints)
                version = app_version()
                dumping.result()
            progress("checksums and manifest")
            files = {
                path.name: {"sha256": sha256_file(path), "size": path.stat().st_size}
                for path in sorted(work.iterdir())
            }
            _write_manifest(
                work,
                {
                    "format": MANIFEST_FORMAT,
                    "name": name,
                    "created_at": started.isoformat(),
                    "app_version": version,
                    "database": db,
                    "media_files": media_files,
                    "ledger_entries": ledger_entries,
                    "encryption": {"cipher": gpg.CIPHER, "recipients": fingerprints},
                    "files": files,
                },
            )
            _finalise(work, final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        progress("retention")
        removed = _apply_local_retention(directory)
    size = sum(entry["size"] for entry in files.values()) + (final / MANIFEST_FILE).stat().st_size
    return BackupResult(
        name=name,
        size=size,
        seconds=time.monotonic() - clock,
        files=files,
        ledger_entries=ledger_entries,
        media_files=media_files,
        removed_local=removed,
    )


def _apply_local_retention(directory: Path) -> list[str]:
    names = set_names(p.name for p in directory.iterdir() if p.is_dir())
    kept = retained(names, **keep_policy())
    removed = [name for name in names if name not in kept]
    for name in removed:
        shutil.rmtree(directory / name)
    return removed


def _sync_offsite(session) -> dict:
    report = sftp.sync_sets(session, backup_dir(), keep=keep_policy())
    _import_drill_reports(session)
    return report


# --- Records ------------------------------------------------------------------------------------


def _record_failure(kind: str, started: datetime, message: str) -> None:
    logger.error("%s failed: %s", BackupRun.Kind(kind).label, message)
    BackupRun.objects.create(
        kind=kind,
        status=BackupRun.Status.FAILED,
        started_at=started,
        finished_at=timezone.now(),
        detail=message[:2000],
    )


@transaction.atomic
def _record_backup(started: datetime, result: BackupResult, *, offsite: bool) -> None:
    if result.offsite_error:
        logger.error("Off-site copy of backup %s failed: %s", result.name, result.offsite_error)
    BackupRun.objects.create(
        kind=BackupRun.Kind.BACKUP,
        status=BackupRun.Status.OK,
        name=result.name,
        started_at=started,
        finished_at=timezone.now(),
        size_bytes=result.size,
        offsite=(
            (BackupRun.Offsite.FAILED if result.offsite_error else BackupRun.Offsite.OK)
            if offsite
            else BackupRun.Offsite.NONE
        ),
        checksum=hashlib.sha256(json.dumps(result.files, sort_keys=True).encode()).hexdigest(),
        detail=result.summary(),
    )


def _import_drill_reports(session) -> int:
    """Record the drills the recovery host reported (a drill runs where the private key is)."""
    last = (
        BackupRun.objects.filter(kind=BackupRun.Kind.DRILL)
        .order_by("-report_file")
        .values_list("report_file", flat=True)
        .first()
    )
    reports = sftp.fetch_drill_reports(session, newer_than=last or "")
    for report in reports:
        ok = report.get("status") == "ok"
        if not ok:
            logger.error("Restore drill %s failed: %s", report["file"], report.get("error", "?"))
        BackupRun.objects.create(
            kind=BackupRun.Kind.DRILL,
            status=BackupRun.Status.OK if ok else BackupRun.Status.FAILED,
            name=str(report.get("backup", ""))[:64],
            started_at=report.get("started_at") or timezone.now(),
            finished_at=report.get("finished_at") or timezone.now(),
            size_bytes=report.get("size_bytes"),
            rpo_seconds=report.get("rpo_seconds"),
            rto_seconds=report.get("rto_seconds"),
            report_file=report["file"],
            detail=str(report.get("summary") or report.get("error") or "")[:2000],
        )
    return len(reports)


# --- The erasure ledger, off-site within minutes --------------------------------------------------

LEDGER_REMOTE = "ledger/erasure-ledger.jsonl.gpg"


def ledger_ship() -> str:
    """Copy the erasure ledger, encrypted, to the SFTP site when it changed; say what was done."""
    started = timezone.now()
    path = ledger_path()
    content = path.read_bytes() if path.exists() else b""
    digest = hashlib.sha256(content).hexdigest()
    last = (
        BackupRun.objects.filter(kind=BackupRun.Kind.LEDGER, status=BackupRun.Status.OK)
        .values_list("checksum", "finished_at")
        .first()
    )
    entries = sum(1 for line in content.splitlines() if line.strip())
    # Copied again once a day even when unchanged: the SFTP site may have been rebuilt.
    if last and last[0] == digest and started - last[1] < timedelta(days=1):
        return f"erasure ledger unchanged ({entries} entries), nothing to copy"
    try:
        directory = backup_dir()
        fingerprints = gpg.recipient_fingerprints()
        with contextlib.ExitStack() as stack:
            work = Path(stack.enter_context(_private_tempdir(directory)))
            encrypted = work / "erasure-ledger.jsonl.gpg"
            gpg.encrypt(io.BytesIO(content), encrypted, fingerprints=fingerprints)
            sha256 = sha256_file(encrypted)

            def upload(session):
                root = settings.BACKUP_SFTP_DIR.rstrip("/") or "."
                sftp.ensure_dir(session, f"{root}/ledger")
                sftp.replace_file(session, encrypted, f"{root}/{LEDGER_REMOTE}", sha256=sha256)

            sftp.with_retries(upload, what="Copying the erasure ledger off-site")
    except Exception as exc:
        _record_failure(BackupRun.Kind.LEDGER, started, f"{type(exc).__name__}: {exc}")
        raise
    BackupRun.objects.create(
        kind=BackupRun.Kind.LEDGER,
        status=BackupRun.Status.OK,
        started_at=started,
        finished_at=timezone.now(),
        size_bytes=len(content),
        offsite=BackupRun.Offsite.OK,
        checksum=digest,
        detail=f"{entries} entries",
    )
    return f"erasure ledger copied off-site ({entries} entries)"


@contextlib.contextmanager
def _private_tempdir(parent: Path):
    path = tempfile.mkdtemp(prefix=".tmp-", dir=parent)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- Status -------------------------------------------------------------------------------------


def backup_status() -> dict:
    """The last backup, ledger copy and drill, and what is overdue or failed (no personal data)."""
    now = timezone.now()
    latest = {kind: BackupRun.objects.filter(kind=kind).first() for kind in BackupRun.Kind.values}
    last_ok_backup = BackupRun.objects.filter(
        kind=BackupRun.Kind.BACKUP, status=BackupRun.Status.OK
    ).first()
    last_ok_drill = BackupRun.objects.filter(
        kind=BackupRun.Kind.DRILL, status=BackupRun.Status.OK
    ).first()
    problems = []
    if last_ok_backup is None or now - last_ok_backup.finished_at > timedelta(
        hours=settings.BACKUP_MAX_AGE_HOURS
    ):
        problems.append(f"no successful backup in the last {settings.BACKUP_MAX_AGE_HOURS} hours")
    for kind, run in latest.items():
        if run is not None and run.status == BackupRun.Status.FAILED:
            problems.append(f"the last {BackupRun.Kind(kind).label.lower()} failed")
    if latest[BackupRun.Kind.BACKUP] and latest[BackupRun.Kind.BACKUP].offsite == "failed":
        problems.append("the off-site copy of the last backup failed")
    if last_ok_drill is None or now - last_ok_drill.finished_at > timedelta(
        days=settings.BACKUP_DRILL_MAX_AGE_DAYS
    ):
        problems.append(
            f"no successful restore drill in the last {settings.BACKUP_DRILL_MAX_AGE_DAYS} days"
        )
    return {"latest": latest, "problems": problems}


def backup_status_report() -> list[str]:
    """Log every backup problem at ERROR (hence Sentry) and return them."""
    problems = backup_status()["problems"]
    for problem in problems:
        logger.error("Backups: %s", problem)
    return problems
