"""Re-encryption under the active key, and blind-index recomputation, online and resumable.

Rows are read in primary-key batches straight from the tables (the stored ciphertext, not the
decrypted value) and rewritten with a compare-and-swap UPDATE: a row changed concurrently since it
was read is left alone, because whatever wrote it already used the active key. Rows already under
the active key are skipped, so an interrupted run simply resumes when started again.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, transaction

from privacy.crypto import DecryptionError, decrypt_value, encrypt_value, key_id_of
from privacy.fields import BlindIndexField
from privacy.keys import get_keys
from privacy.models import StoredFile


@dataclass
class Column:
    model: type
    field: object

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"


@dataclass
class RotationReport:
    key_ids: Counter = field(default_factory=Counter)
    file_key_ids: Counter = field(default_factory=Counter)
    files_rewritten: int = 0
    rewritten: int = 0
    skipped_concurrent: int = 0
    failed: list[str] = field(default_factory=list)


def encrypted_columns() -> list[Column]:
    """Every encrypted column of every installed model."""
    return [
        Column(model, f)
        for model in apps.get_models()
        for f in model._meta.local_concrete_fields
        if getattr(f, "encrypted", False)
    ]


def _batches(model, columns: list[str], batch_size: int) -> Iterator[list[tuple]]:
    """(pk, *raw column values) in primary-key order, batch by batch."""
    qn = connection.ops.quote_name
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    cols = ", ".join(qn(c) for c in columns)
    last = None
    while True:
        where, params = ("", []) if last is None else (f" WHERE {pk} > %s", [last])
        sql = f"SELECT {pk}, {cols} FROM {table}{where} ORDER BY {pk} LIMIT %s"  # noqa: S608  # nosec B608
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, batch_size])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def count_rows(model) -> int:
    return model._base_manager.count()


def rotate_column(
    column: Column,
    report: RotationReport,
    *,
    dry_run: bool,
    batch_size: int = 500,
    progress: Callable[[int], None] = lambda n: None,
) -> None:
    """Count a column's values per key id and, unless dry_run, re-encrypt the stale ones."""
    active = get_keys().active_id
    model, f = column.model, column.field
    aad = f.associated_data
    qn = connection.ops.quote_name
    update = (
        f"UPDATE {qn(model._meta.db_table)} SET {qn(f.column)} = %s "  # noqa: S608  # nosec B608
        f"WHERE {qn(model._meta.pk.column)} = %s AND {qn(f.column)} = %s"
    )
    for rows in _batches(model, [f.column], batch_size):
        stale = []
        for pk, raw in rows:
            if raw is None:
                continue
            try:
                kid = key_id_of(raw)
            except DecryptionError:
                report.failed.append(f"{column.label} pk={pk}: malformed value")
                continue
            report.key_ids[kid] += 1
            if kid != active:
                stale.append((pk, raw))
        if not dry_run and stale:
            with transaction.atomic(), connection.cursor() as cursor:
                for pk, raw in stale:
                    try:
                        fresh = encrypt_value(decrypt_value(raw, aad=aad), aad=aad)
                    except DecryptionError as exc:
                        report.failed.append(f"{column.label} pk={pk}: {exc}")
                        continue
                    cursor.execute(update, [fresh, pk, raw])
                    if cursor.rowcount:
                        report.rewritten += 1
                    else:
                        report.skipped_concurrent += 1
        progress(len(rows))


def rotate_stored_files(
    report: RotationReport, *, dry_run: bool, progress: Callable[[int], None] = lambda n: None
) -> None:
    """Count stored files per key id and, unless dry_run, re-encrypt those not under the active
    key (mkstemp files are created 0600; the rewrite replaces the file atomically)."""
    active = get_keys().active_id
    for stored in StoredFile.objects.order_by("pk").only("pk", "file").iterator(chunk_size=200):
        storage, name = stored.file.storage, stored.file.name
        try:
            kid = storage.key_id(name)
        except (OSError, DecryptionError) as exc:
            report.failed.append(f"stored file {stored.pk}: {type(exc).__name__}")
            progress(1)
            continue
        report.file_key_ids[kid] += 1
        if kid != active and not dry_run:
            try:
                storage.reencrypt(name)
            except DecryptionError as exc:
                report.failed.append(f"stored file {stored.pk}: {exc}")
            else:
                report.files_rewritten += 1
        progress(1)


def blind_index_fields() -> list[Column]:
    return [
        Column(model, f)
        for model in apps.get_models()
        for f in model._meta.local_concrete_fields
        if isinstance(f, BlindIndexField)
    ]


def reindex_column(
    column: Column,
    *,
    batch_size: int = 500,
    progress: Callable[[int], None] = lambda n: None,
) -> int:
    """Recompute a blind index from the decrypted source (after the index key changed)."""
    model, index = column.model, column.field
    source = model._meta.get_field(index.source)
    changed = 0
    last = None
    while True:
        queryset = model._base_manager.order_by("pk")
        if last is not None:
            queryset = queryset.filter(pk__gt=last)
        rows = list(queryset.values_list("pk", source.attname, index.attname)[:batch_size])
        if not rows:
            return changed
        with transaction.atomic():
            for pk, value, current in rows:
                digest = index.digest(value)
                if digest != current:
                    # Compare-and-swap on the old digest: a concurrent save already wrote the
                    # digest under the new key.
                    changed += model._base_manager.filter(pk=pk, **{index.attname: current}).update(
                        **{index.attname: digest}
                    )
        progress(len(rows))
        last = rows[-1][0]
