"""Restore drill and real restore: verify a set, restore it, re-apply the erasure ledger."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from psycopg import sql

from backups import database, gpg
from backups.errors import BackupError
from backups.sets import (
    DATABASE_FILE,
    LEDGER_FILE,
    MEDIA_FILE,
    read_manifest,
    set_names,
    verify_files,
)
from config.env import BASE_DIR
from privacy.erasure import ledger_append, ledger_path, ledger_read
from privacy.models import StoredFile
from privacy.storage import EncryptedFileSystemStorage

SAMPLE = 20  # values per encrypted column and files decrypted by the drill
OFFSITE_LEDGER = Path("ledger") / "erasure-ledger.jsonl.gpg"

Progress = Callable[[str], None]


def newest_set(directory: Path) -> Path:
    entries = directory.iterdir() if directory.is_dir() else []
    names = set_names(p.name for p in entries if p.is_dir())
    if not names:
        raise BackupError(f"No backup set in {directory}.")
    return directory / names[-1]


@contextlib.contextmanager
def _workdir():
    path = Path(tempfile.mkdtemp(prefix="ecar-restore-"))
    path.chmod(0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _decrypt_set(set_dir: Path, work: Path, progress: Progress) -> None:
    for name in (DATABASE_FILE, MEDIA_FILE, LEDGER_FILE):
        progress(f"decrypting {name}")
        gpg.decrypt(set_dir / name, work / name.removesuffix(".gpg"))


def _extract_media(work: Path, target: Path) -> int:
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tarfile.open(work / MEDIA_FILE.removesuffix(".gpg")) as tar:
        members = tar.getmembers()
        tar.extractall(target, filter="data")
    return sum(1 for m in members if m.isfile())


def _ledger_entries(work: Path, extra: list[Path], backup_root: Path) -> list[dict]:
    """The set's ledger, the copy shipped off-site and any given file: each erasure once."""
    sources = [work / LEDGER_FILE.removesuffix(".gpg"), *extra]
    offsite = backup_root / OFFSITE_LEDGER
    if offsite.is_file():
        gpg.decrypt(offsite, work / "offsite-ledger.jsonl")
        sources.append(work / "offsite-ledger.jsonl")
    seen, entries = set(), []
    for source in sources:
        for entry in ledger_read(source):
            key = json.dumps(entry, sort_keys=True)
            if key not in seen:
                seen.add(key)
                entries.append(entry)
    return entries


def _check_counts(alias: str, manifest: dict) -> int:
    expected = manifest["database"]["row_counts"]
    with database.connect(alias) as conn:
        tables = {
            row[0]
            for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        if tables != set(expected):
            raise BackupError(
                "Restored tables differ from the manifest: missing "
                f"{sorted(set(expected) - tables)}, unexpected {sorted(tables - set(expected))}."
            )
        wrong = {}
        for table, count in expected.items():
            actual = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            if actual != count:
                wrong[table] = (count, actual)
    if wrong:
        raise BackupError(f"Row counts differ from the manifest (expected, restored): {wrong}.")
    return sum(expected.values())


def _check_migrations(alias: str, manifest: dict) -> list[tuple[str, str]]:
    """Restored migrations are the manifest's and all known to this code; the ones it lacks."""
    with database.connect(alias) as conn:
        restored = sorted(
            tuple(row) for row in conn.execute("SELECT app, name FROM django_migrations")
        )
    if restored != sorted(tuple(m) for m in manifest["database"]["migrations"]):
        raise BackupError("Restored migration state differs from the manifest.")
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    known_apps = {app for app, _ in known}
    unknown = [m for m in restored if m[0] in known_apps and m not in known]
    if unknown:
        raise BackupError(f"The backup has migrations this code does not know: {unknown[:5]}.")
    return sorted(known - set(restored))


def _decrypt_samples(alias: str, media_root: Path) -> tuple[int, int]:
    """Decrypt a sample of each encrypted column and of the stored files with the current keys."""
    values = 0
    # Raw SQL on a connection of its own: the scratch copy is never an ORM database.
    with database.connect(alias) as conn:
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not getattr(field, "encrypted", False):
                    continue
                query = sql.SQL(
                    "SELECT {col} FROM {table} WHERE {col} IS NOT NULL LIMIT %s"
                ).format(
                    col=sql.Identifier(field.column), table=sql.Identifier(model._meta.db_table)
                )
                for (raw,) in conn.execute(query, [SAMPLE]):
                    try:
                        field.from_db_value(raw, None, None)
                    except Exception as exc:  # noqa: BLE001 - any failure to decrypt fails the drill
                        raise BackupError(
                            f"{model._meta.label}.{field.name} does not decrypt with the current "
                            f"key ring: {type(exc).__name__}."
                        ) from None
                    values += 1
        stored = conn.execute(
            sql.SQL("SELECT id, file, size FROM {} LIMIT %s").format(
                sql.Identifier(StoredFile._meta.db_table)
            ),
            [SAMPLE],
        ).fetchall()
    private = Path(settings.STORAGES["encrypted"]["OPTIONS"]["location"])
    storage = EncryptedFileSystemStorage(
        location=media_root / private.relative_to(Path(settings.MEDIA_ROOT))
    )
    for pk, name, expected in stored:
        try:
            size = sum(len(chunk) for chunk in storage.iter_plaintext(name))
        except Exception as exc:  # noqa: BLE001 - any failure to decrypt fails the drill
            raise BackupError(f"Stored file {pk} does not decrypt: {type(exc).__name__}.") from None
        if size != expected:
            raise BackupError(f"Stored file {pk} decrypts to {size} bytes, not {expected}")
    return values, len(stored)


def _manage(args: list[str], *, db_name: str, media_root: Path, ledger: Path) -> str:
    """Run a management command in a child process whose only database is `db_name`."""
    env = {
        **os.environ,
        "DATABASE_URL": database.database_url(db_name),
        "MEDIA_ROOT": str(media_root),
        "ERASURE_LEDGER_PATH": str(ledger),
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed commands
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BackupError(f"manage.py {args[0]} on the scratch database failed: {tail[0]}")
    return done.stdout


def _check_erased(alias: str, entries: list[dict]) -> int:
    """Nobody in the ledger can still log in to the restored copy."""
    joined = {e["user_id"]: datetime.fromisoformat(e["joined"]) for e in entries if e.get("joined")}
    table = sql.Identifier(get_user_model()._meta.db_table)
    with database.connect(alias) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT id, date_joined, is_active, password FROM {} WHERE id = ANY(%s)"
            ).format(table),
            [list(joined)],
        ).fetchall()
    back = [
        pk
        for pk, date_joined, active, password in rows
        if date_joined == joined[pk] and (active or not password.startswith("!"))
    ]
    if back:
        raise BackupError(f"{len(back)} erased people can still log in after reapply_erasures.")
    return len(entries)


def restore_drill(*, path: Path | None = None, ledgers=(), progress: Progress) -> dict:
    """Restore a set into a scratch database, verify it, re-apply erasures, then drop it."""
    started, clock = timezone.now(), time.monotonic()
    root = Path(settings.BACKUP_DIR)
    set_dir = path or newest_set(root)
    report = {"backup": set_dir.name, "started_at": started.isoformat()}
    database.require_postgresql()
    progress(f"checking {set_dir.name} against its manifest")
    manifest = read_manifest(set_dir)
    verify_files(set_dir, manifest)
    report["size_bytes"] = sum(f["size"] for f in manifest["files"].values())
    with _workdir() as work:
        _decrypt_set(set_dir, work, progress)
        media_root = work / "media"
        report["media_files"] = _extract_media(work, media_root)
        with database.scratch_database() as alias:
            report["scratch_database"] = alias
            progress(f"pg_restore into the scratch database {alias}")
            database.restore(alias, work / DATABASE_FILE.removesuffix(".gpg"), owner=False)
            report["rows"] = _check_counts(alias, manifest)
            missing = _check_migrations(alias, manifest)
            out_ledger = work / "ledger-written.jsonl"
            if missing:
                progress(f"applying {len(missing)} newer migrations")
                _manage(
                    ["migrate", "--noinput"],
                    db_name=alias,
                    media_root=media_root,
                    ledger=out_ledger,
                )
            report["migrations_applied"] = len(missing)
            progress("decrypting a sample of fields and files")
            values, files = _decrypt_samples(alias, media_root)
            report["values_decrypted"], report["files_decrypted"] = values, files
            entries = _ledger_entries(work, list(ledgers), root)
            combined = work / "ledger.jsonl"
            combined.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))
            progress(f"re-applying {len(entries)} erasures")
            _manage(
                ["reapply_erasures", "--ledger", str(combined)],
                db_name=alias,
                media_root=media_root,
                ledger=out_ledger,
            )
            report["erasures_reapplied"] = _check_erased(alias, entries)
    created = datetime.fromisoformat(manifest["created_at"])
    report.update(
        status="ok",
        finished_at=timezone.now().isoformat(),
        rto_seconds=round(time.monotonic() - clock, 1),
        rpo_seconds=int((started - created).total_seconds()),
        app_version=manifest.get("app_version", ""),
    )
    report["summary"] = drill_summary(report)
    return report


def drill_summary(report: dict) -> str:
    if report.get("status") != "ok":
        return f"restore drill FAILED on {report.get('backup', '?')}: {report.get('error')}"
    return (
        f"restore drill ok: {report['backup']} restored and verified in {report['rto_seconds']} s "
        f"(RTO), backup age {report['rpo_seconds'] / 3600:.1f} h (RPO); {report['rows']} rows, "
        f"{report['values_decrypted']} values and {report['files_decrypted']} files decrypted, "
        f"{report['erasures_reapplied']} erasures re-applied"
    )


def write_drill_report(report: dict) -> Path | None:
    """Leave the report in BACKUP_DIR/drills/, where the application server collects it."""
    folder = Path(settings.BACKUP_DIR) / "drills"
    folder.mkdir(mode=0o750, exist_ok=True)
    path = folder / f"drill-{timezone.now():%Y%m%dT%H%M%S%fZ}.json"
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    path.chmod(0o640)
    return path


def restore_live(*, set_dir: Path, ledgers: list[Path] = (), progress: Progress) -> dict:
    """The real restore: the set into the live database and MEDIA_ROOT, then the ledger."""
    from django.core.management import call_command

    database.require_postgresql()
    manifest = read_manifest(set_dir)
    verify_files(set_dir, manifest)
    with _workdir() as work:
        _decrypt_set(set_dir, work, progress)
        progress("pg_restore into the live database")
        database.restore(DEFAULT_DB_ALIAS, work / DATABASE_FILE.removesuffix(".gpg"))
        progress("restoring media files")
        files = _extract_media(work, Path(settings.MEDIA_ROOT))
        entries = _ledger_entries(work, list(ledgers), Path(settings.BACKUP_DIR))
    # The ledger on this host must list every erasure again, for the next restore.
    known = {json.dumps(e, sort_keys=True) for e in ledger_read(ledger_path())}
    for entry in entries:
        if json.dumps(entry, sort_keys=True) not in known:
            ledger_append(entry)
    progress("migrate, then reapply_erasures")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("reapply_erasures")
    return {"backup": set_dir.name, "media_files": files, "ledger_entries": len(entries)}
