"""Benchmark of the privacy layer: field encryption, blind-index lookups and file encryption.

Run with `make bench` (installs requirements-bench.txt, the comparison baseline, first) or
`.venv/bin/python bench/bench_privacy.py`. It builds a throw-away database (in-memory SQLite, or
a scratch PostgreSQL database when DATABASE_URL points at PostgreSQL), prints the machine and
the three measurements, and removes everything it created. Not a test: numbers depend on the
machine; only the ratios are meant to be compared.
"""

from __future__ import annotations

import base64
import hashlib
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIELD_VALUE = "Zeineb Khemiri, 17 rue Testval, 3000 Sfax"  # ~40 characters
USERS = 100_000
LOOKUPS = 300
FILE_MIB = 64
FILE_ROUNDS = 9
MIB = 1024 * 1024


def _fresh_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def setup_django() -> None:
    """Test settings with fresh keys (nothing read from or written to .secrets/)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["SECRET_KEY"] = _fresh_key() + _fresh_key()
    os.environ["ENCRYPTION_KEY_FILE"] = ""
    os.environ["FIELD_ENCRYPTION_KEYS"] = f"k1:{_fresh_key()}"
    os.environ["BLIND_INDEX_KEY"] = _fresh_key()
    import django

    django.setup()


def machine() -> list[str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import cryptography
    import django

    return [
        f"platform:     {platform.platform()}",
        f"cpu:          {cpu}",
        f"cores:        {os.cpu_count()}",
        f"python:       {platform.python_version()} ({platform.python_implementation()})",
        f"django:       {django.get_version()}; cryptography {cryptography.__version__}",
    ]


def rate(operation: Callable[[], object], *, seconds: float = 1.0, rounds: int = 3) -> float:
    """Operations per second: the best of a few timed rounds of about `seconds` each."""
    operation()  # warm up (key derivation, caches)
    count, elapsed = 1, 0.0
    while elapsed < 0.1:
        count *= 2
        start = time.perf_counter()
        for _ in range(count):
            operation()
        elapsed = time.perf_counter() - start
    count = max(1, int(count * seconds / elapsed))
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            operation()
        best = max(best, count / (time.perf_counter() - start))
    return best


def best_time(operation: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        operation()
        best = min(best, time.perf_counter() - start)
    return best


# --- 1. one field value: encrypt + decrypt ------------------------------------------------


def bench_field() -> list[str]:
    from django.conf import settings
    from django.db import connection

    from accounts.models import Profile
    from privacy.crypto import decrypt_value, encrypt_value

    try:
        from encrypted_fields.fields import EncryptedCharField as FernetCharField
    except ImportError:
        return [
            "1. skipped: pip install -r requirements-bench.txt (django-fernet-encrypted-fields)"
        ]
    from importlib.metadata import version

    settings.SALT_KEY = _fresh_key()  # the baseline derives its key from SECRET_KEY + SALT_KEY
    ours = Profile._meta.get_field("full_name")
    theirs = FernetCharField(max_length=150)
    aad = ours.associated_data

    def ours_field():
        return ours.from_db_value(ours.get_prep_value(FIELD_VALUE), None, connection)

    def ours_primitives():
        return decrypt_value(encrypt_value(FIELD_VALUE.encode(), aad=aad), aad=aad)

    def theirs_field():
        return theirs.from_db_value(theirs.get_prep_value(FIELD_VALUE), None, connection)

    assert ours_field() == FIELD_VALUE and theirs_field() == FIELD_VALUE
    assert ours_primitives() == FIELD_VALUE.encode()
    assert theirs.get_prep_value(FIELD_VALUE) != FIELD_VALUE  # really encrypted
    ours_rate, primitive_rate, theirs_rate = (
        rate(ours_field),
        rate(ours_primitives),
        rate(theirs_field),
    )
    baseline = version("django-fernet-encrypted-fields")
    return [
        f"1. Encrypt + decrypt of one {len(FIELD_VALUE)}-character field value",
        f"   ours, EncryptedCharField (AES-256-GCM):      {ours_rate:>10,.0f} ops/s",
        f"   ours, crypto.encrypt/decrypt_value:          {primitive_rate:>10,.0f} ops/s",
        "   baseline, EncryptedCharField (Fernet) of",
        f"     django-fernet-encrypted-fields {baseline}:     {theirs_rate:>10,.0f} ops/s",
        f"   ratio ours / baseline (field):               {ours_rate / theirs_rate:>10.2f} x",
    ]


# --- 2. exact lookup: blind index vs decrypt-and-scan ---------------------------------------


def populate(count: int) -> list[str]:
    """count users with a profile each (e-mail encrypted, indexed); return the e-mails."""
    from django.db import connection, transaction

    from accounts.models import Profile, User

    User.objects.bulk_create(
        [User(username=f"bench{n}", password="!") for n in range(count)], batch_size=5000
    )
    user_ids = list(User.objects.order_by("pk").values_list("pk", flat=True))
    emails = [f"client.{n}.{random.getrandbits(32):08x}@example.tn" for n in range(count)]

    # Values every row shares are encrypted once; the e-mail and its digest once per row.
    template = Profile(user_id=user_ids[0])
    fields = [f for f in Profile._meta.local_concrete_fields if not f.primary_key]
    shared = {f.attname: f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields}
    email_field = Profile._meta.get_field("email")
    index_field = Profile._meta.get_field("email_index")
    qn = connection.ops.quote_name
    # Table and column names come from the model; every value is a query parameter.
    columns = ", ".join(qn(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {qn(Profile._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608

    def rows():
        for user_id, email in zip(user_ids, emails, strict=True):
            values = dict(shared, user_id=user_id)
            values[email_field.attname] = email_field.get_prep_value(email)
            values[index_field.attname] = index_field.digest(email)
            yield [values[f.attname] for f in fields]

    batch: list = []
    with transaction.atomic(), connection.cursor() as cursor:
        for row in rows():
            batch.append(row)
            if len(batch) == 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {qn(Profile._meta.db_table)}")
    return emails


def bench_lookup() -> list[str]:
    from accounts.models import Profile
    from privacy.normalise import normalise_email

    start = time.perf_counter()
    emails = populate(USERS)
    built = time.perf_counter() - start
    targets = random.sample(emails, LOOKUPS)

    def indexed():
        for email in targets:
            found = list(Profile.objects.blind_lookup(email=email.upper()))
            assert len(found) == 1 and found[0].email == email

    target = normalise_email(targets[0])

    def scan():
        matches = [
            pk
            for pk, email in Profile.objects.values_list("pk", "email").iterator(chunk_size=2000)
            if email is not None and normalise_email(email) == target
        ]
        assert len(matches) == 1

    per_lookup = best_time(indexed) / LOOKUPS
    per_scan = best_time(scan, rounds=2)
    return [
        f"2. Exact e-mail lookup among {USERS:,} users ({built:.1f} s to build the table)",
        f"   blind index (Profile.objects.blind_lookup): {per_lookup * 1000:>10.3f} ms",
        f"   decrypt every e-mail and compare:           {per_scan * 1000:>10.1f} ms",
        f"   ratio scan / blind index:                   {per_scan / per_lookup:>10,.0f} x",
    ]


# --- 3. file encryption throughput ----------------------------------------------------------


def bench_files() -> list[str]:
    from privacy.crypto import encrypt_stream, iter_decrypt

    with tempfile.TemporaryDirectory(prefix="ecar-bench-") as folder:
        source, target = Path(folder, "plain.bin"), Path(folder, "out.bin")
        digest = hashlib.sha256()
        with open(source, "wb") as handle:
            for _ in range(FILE_MIB):
                piece = os.urandom(MIB)
                digest.update(piece)
                handle.write(piece)

        def encrypt():
            with open(source, "rb") as src, open(target, "wb") as dst:
                encrypt_stream(src, dst)

        def copy():
            with open(source, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)

        def decrypt():
            check = hashlib.sha256()
            with open(target, "rb") as src:
                for chunk in iter_decrypt(src):
                    check.update(chunk)
            assert check.hexdigest() == digest.hexdigest()

        # Interleaved rounds, medians: this disk's write speed varies by 2x from one second to
        # the next, so a best-of per operation compares lucky moments rather than the code.
        rates: dict[str, list[float]] = {"copy": [], "encrypt": [], "decrypt": []}
        for _ in range(FILE_ROUNDS):
            # decrypt() reads what the encrypt() just before it wrote into target
            for name, operation in (("copy", copy), ("encrypt", encrypt), ("decrypt", decrypt)):
                start = time.perf_counter()
                operation()
                rates[name].append(FILE_MIB / (time.perf_counter() - start))
    per_round = [e / c for e, c in zip(rates["encrypt"], rates["copy"], strict=True)]
    copy_rate, encrypt_rate, decrypt_rate = (
        statistics.median(rates[name]) for name in ("copy", "encrypt", "decrypt")
    )
    return [
        f"3. File of {FILE_MIB} MiB, temp file to temp file ({FILE_ROUNDS} interleaved rounds, "
        "medians)",
        f"   encrypt_stream (AES-256-GCM, 256 KiB chunks):{encrypt_rate:>8,.0f} MiB/s",
        f"   iter_decrypt (+ sha256 of the output):       {decrypt_rate:>8,.0f} MiB/s",
        f"   plain copy (shutil.copyfileobj):             {copy_rate:>8,.0f} MiB/s",
        f"   ratio encrypt / copy:                        {encrypt_rate / copy_rate:>8.2f} x "
        f"(per round: {min(per_round):.2f}-{max(per_round):.2f} x)",
    ]


def main() -> None:
    started = time.perf_counter()
    setup_django()
    from django.conf import settings
    from django.db import connection

    connection.settings_dict.setdefault("TEST", {})["NAME"] = (
        f"ecar_bench_{os.getpid()}" if connection.vendor == "postgresql" else None
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sqlite_version()"
                if connection.vendor == "sqlite"
                else "SHOW server_version"
            )
            db_version = cursor.fetchone()[0]
        print("ECAR privacy benchmark")
        print("\n".join(machine()))
        print(f"database:     {connection.vendor} {db_version} (scratch, deleted afterwards)")
        print()
        for bench in (bench_field, bench_lookup, bench_files):
            print("\n".join(bench()), flush=True)
            print()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    print(f"total time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
