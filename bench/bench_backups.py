"""Benchmark of the backup: `manage.py backup` against a plain `pg_dump -Fc`, and the drill's RTO.

Run with `make bench` or `.venv/bin/python bench/bench_backups.py` with DATABASE_URL pointing at
PostgreSQL. It seeds a throw-away database (demo data plus CUSTOMERS encrypted customer records
and DOCUMENTS encrypted files), uses a throw-away GnuPG key, prints the machine and the
measurements, and removes everything it created. Not a test: only the ratio is meant to be
compared (goal: backup at most 1.15 x the plain dump).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_privacy import machine, setup_django  # noqa: E402

CUSTOMERS = 20_000
DOCUMENTS = 20
ROUNDS = 5


def gpg_key(home: str) -> str:
    """A throw-away ed25519/cv25519 key without passphrase; its fingerprint."""
    gpg = ["gpg", "--batch", "--homedir", home]
    uid = "Bench <bench@garage.example.tn>"
    subprocess.run(  # noqa: S603 - fixed arguments
        [*gpg, "--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never"],
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(  # noqa: S603 - fixed arguments
        [*gpg, "--with-colons", "--list-secret-keys"], check=True, capture_output=True, text=True
    ).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def seed() -> str:
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from garage.models import Customer
    from privacy.models import StoredFile

    call_command("seed_demo", verbosity=0)
    Customer.objects.bulk_create(
        [
            Customer(
                full_name=f"Client Banc{n:05d} Trabelsi",
                phone=f"+2162{n:07d}",
                email=f"client{n:05d}@exemple-banc.tn",
                address=f"{n} avenue Habib Bourguiba, Sfax",
            )
            for n in range(CUSTOMERS)
        ],
        batch_size=2000,
    )
    for n in range(DOCUMENTS):
        StoredFile.objects.create(
            file=ContentFile(os.urandom(256 * 1024), name=f"doc{n}.pdf"),
            original_name=f"carte-grise-{n}.pdf",
            content_type="application/pdf",
            size=256 * 1024,
        )
    return f"{Customer.objects.count()} customers, {DOCUMENTS} documents of 256 KiB"


def best_of(*operations, rounds: int = ROUNDS) -> list[float]:
    """Best time of each operation, run in turns (a shared machine's noise hits both alike)."""
    times = [[] for _ in operations]
    for _ in range(rounds):
        for operation, spent in zip(operations, times, strict=True):
            started = time.perf_counter()
            operation()
            spent.append(time.perf_counter() - started)
            time.sleep(1.1)  # backup sets are named to the second
    return [min(spent) for spent in times]


def main() -> None:
    started = time.perf_counter()
    setup_django()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        print("ECAR backup benchmark: skipped, it needs PostgreSQL (DATABASE_URL=postgres://...)")
        return
    work = Path(tempfile.mkdtemp(prefix="ecar-bench-backup-"))
    home = tempfile.mkdtemp(prefix="gpg-bench-")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"ecar_bench_backup_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from backups.database import database_url
        from backups.drill import restore_drill
        from backups.services import backup_create

        settings.GNUPGHOME = home
        settings.BACKUP_GPG_RECIPIENT = [gpg_key(home)]
        settings.BACKUP_DIR = str(work / "backups")
        settings.ERASURE_LEDGER_PATH = str(work / "ledger.jsonl")
        seeded = seed()
        url = database_url(connection.settings_dict["NAME"])
        dump = work / "plain.dump"

        def plain():
            subprocess.run(  # noqa: S603 - fixed arguments
                ["pg_dump", "-Fc", f"--dbname={url}", f"--file={dump}"],  # noqa: S607
                check=True,
            )

        plain_time, ours_time = best_of(plain, lambda: backup_create(offsite=False))
        report = restore_drill(progress=lambda message: None)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            db_version = cursor.fetchone()[0]
        print("ECAR backup benchmark")
        print("\n".join(machine()))
        print(f"database:     postgresql {db_version} (scratch, deleted afterwards)")
        print(f"seeded:       {seeded}, {report['rows']:,} rows in all")
        print(f"dump size:    {dump.stat().st_size / 2**20:.1f} MiB (pg_dump -Fc)")
        print()
        print(f"1. Backup (best of {ROUNDS}, in turns)")
        print(f"   pg_dump -Fc to a file:                         {plain_time:>6.2f} s")
        print(f"   manage.py backup (db, media, ledger, manifest): {ours_time:>6.2f} s")
        print(f"   ratio backup / pg_dump:                        {ours_time / plain_time:>6.2f} x")
        print()
        print("2. Restore drill of that backup (restore, verify, reapply_erasures, drop)")
        print(f"   RTO:                                           {report['rto_seconds']:>6.1f} s")
        print()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], check=False)  # noqa: S603,S607
        shutil.rmtree(home, ignore_errors=True)
    print(f"total time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
