"""Key rotation: rotate_encryption_keys (dry run, re-encryption, resume, concurrent writers,
blind-index recomputation) and generate_encryption_key."""

import base64
import queue
import re
import threading
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Profile, User
from accounts.services import user_create
from privacy import rotation
from privacy.keys import generate_key, get_keys
from privacy.models import StoredFile
from privacy.rotation import Column, RotationReport, rotate_column

pytestmark = pytest.mark.usefixtures("key_settings")

PASSWORD = "Garage#Pass2026"
COLUMNS = {
    Profile: ("full_name", "email", "phone", "address"),
    StoredFile: ("original_name", "content_type"),
}
KEY_RE = re.compile(r"[A-Za-z0-9_-]{43}")
FILE_CONTENT = b"%PDF-1.7 carte grise " * 100


@pytest.fixture
def rings(settings, key_settings):
    """Two field keys, and a switch between rings made of them: use("k1", "k0")."""
    keys = {"k0": generate_key(), "k1": generate_key()}

    def use(*kids: str) -> None:
        settings.ENCRYPTION_KEY_FILE = ""
        settings.FIELD_ENCRYPTION_KEYS = ",".join(f"{kid}:{keys[kid]}" for kid in kids)

    use("k0")
    return SimpleNamespace(keys=keys, use=use)


def contact(n: int) -> dict:
    return {
        "full_name": f"Client Numero {n}",
        "email": f"client{n}@example.tn",
        "phone": f"+2162012345{n}",
        "address": f"{n} rue de Carthage, Tunis",
    }


def populate(count: int = 3) -> dict:
    """Profiles with every contact field set, and one stored file; {(model, pk): plaintexts}."""
    expected = {}
    for n in range(count):
        user = user_create(username=f"client{n}", password=PASSWORD, contact=contact(n))
        expected[Profile, user.profile.pk] = contact(n)
    stored = StoredFile.objects.create(
        file=ContentFile(FILE_CONTENT, name="carte-grise.pdf"),
        original_name="carte-grise.pdf",
        content_type="application/pdf",
        size=len(FILE_CONTENT),
    )
    expected[StoredFile, stored.pk] = {
        "original_name": "carte-grise.pdf",
        "content_type": "application/pdf",
    }
    return expected


def raw_encrypted_values() -> dict:
    """{(table, pk, field): stored value} of every encrypted column, read with SQL."""
    qn = connection.ops.quote_name
    values = {}
    for model, names in COLUMNS.items():
        columns = ", ".join(qn(model._meta.get_field(name).column) for name in names)
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {pk}, {columns} FROM {table}")
            for row in cursor.fetchall():
                for name, value in zip(names, row[1:], strict=True):
                    if value is not None:
                        values[model._meta.db_table, row[0], name] = value
    return values


def raw_value(model, pk, name: str) -> str:
    qn = connection.ops.quote_name
    column, table = qn(model._meta.get_field(name).column), qn(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {qn(model._meta.pk.column)} = %s", [pk])
        return cursor.fetchone()[0]


def set_raw_value(model, pk, name: str, value: str) -> None:
    qn = connection.ops.quote_name
    column, table = qn(model._meta.get_field(name).column), qn(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = %s WHERE {qn(model._meta.pk.column)} = %s", [value, pk]
        )


def key_ids(values: dict) -> dict:
    """How many stored values are under each key id."""
    counts: dict = {}
    for value in values.values():
        kid = value.split(":")[1]
        counts[kid] = counts.get(kid, 0) + 1
    return counts


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def assert_reads_back(expected: dict) -> None:
    for (model, pk), fields in expected.items():
        instance = model.objects.get(pk=pk)
        for name, value in fields.items():
            assert getattr(instance, name) == value, (model, pk, name)


# --- dry run -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_dry_run_counts_values_per_key_and_changes_nothing(rings):
    populate(3)  # 3 profiles x 4 values + 2 file values, under k0
    rings.use("k1", "k0")
    user_create(username="newcomer", password=PASSWORD, contact={"full_name": "New"})
    before = raw_encrypted_values()  # + full_name and address of the newcomer, under k1
    assert key_ids(before) == {"k0": 14, "k1": 2}

    output = rotate("--dry-run")

    assert "Values per key id: k0=14, k1=2" in output
    assert "Re-encrypted" not in output
    assert raw_encrypted_values() == before


# --- rotation ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotation_re_encrypts_everything_under_the_new_key(rings):
    expected = populate(3)
    rings.use("k1", "k0")

    output = rotate()

    assert "Re-encrypted 14 values and 1 files; 0 values changed concurrently" in output
    after = raw_encrypted_values()
    assert len(after) == 16 - 2  # every non-null value, nothing lost
    assert all(value.startswith("e1:k1:") for value in after.values())
    # The old key can now leave the ring.
    rings.use("k1")
    assert_reads_back(expected)


@pytest.mark.django_db
def test_rotation_keeps_blind_indexes_working(rings):
    populate(2)
    rings.use("k1", "k0")

    rotate()
    rings.use("k1")

    assert Profile.objects.blind_lookup(email="CLIENT1@example.tn").get().full_name == (
        "Client Numero 1"
    )


@pytest.mark.django_db
def test_second_run_re_encrypts_nothing(rings):
    populate(2)
    rings.use("k1", "k0")
    rotate()
    after_first = raw_encrypted_values()

    output = rotate()

    assert "Values per key id: k1=10" in output
    assert "Re-encrypted 0 values" in output
    assert raw_encrypted_values() == after_first


@pytest.mark.django_db
def test_interrupted_rotation_resumes_where_it_stopped(rings, monkeypatch):
    expected = populate(3)
    rings.use("k1", "k0")
    real_encrypt = rotation.encrypt_value
    calls = []

    def failing_encrypt(plaintext, *, aad):
        if len(calls) == 5:
            raise RuntimeError("interrupted")
        calls.append(aad)
        return real_encrypt(plaintext, aad=aad)

    monkeypatch.setattr(rotation, "encrypt_value", failing_encrypt)
    with pytest.raises(RuntimeError, match="interrupted"):
        rotate("--batch-size", "1")
    assert key_ids(raw_encrypted_values()) == {"k0": 9, "k1": 5}

    monkeypatch.setattr(rotation, "encrypt_value", real_encrypt)
    output = rotate("--batch-size", "1")

    assert "Re-encrypted 9 values" in output
    assert key_ids(raw_encrypted_values()) == {"k1": 14}
    rings.use("k1")
    assert_reads_back(expected)


@pytest.mark.django_db
def test_undecryptable_value_is_reported_and_the_rest_rotated(rings):
    expected = populate(2)
    victim_pk = next(pk for model, pk in expected if model is Profile)
    prefix, payload = raw_value(Profile, victim_pk, "address").rsplit(":", 1)
    middle = len(payload) // 2
    flipped = "A" if payload[middle] != "A" else "B"
    tampered = f"{prefix}:{payload[:middle]}{flipped}{payload[middle + 1 :]}"
    set_raw_value(Profile, victim_pk, "address", tampered)
    rings.use("k1", "k0")
    err = StringIO()

    with pytest.raises(CommandError, match="1 values or files could not be decrypted"):
        call_command("rotate_encryption_keys", stdout=StringIO(), stderr=err)

    assert f"accounts.Profile.address pk={victim_pk}" in err.getvalue()
    assert payload[:20] not in err.getvalue()
    stale = {key: v for key, v in raw_encrypted_values().items() if not v.startswith("e1:k1:")}
    assert list(stale) == [("accounts_profile", victim_pk, "address")]


@pytest.mark.django_db
def test_stored_file_content_survives_rotation_and_removal_of_the_old_key(rings):
    populate(1)
    rings.use("k1", "k0")
    rotate()
    rings.use("k1")

    stored = StoredFile.objects.get()
    with stored.file.open("rb") as handle:
        assert handle.read() == FILE_CONTENT


# --- compare-and-swap against concurrent writers ------------------------------------------


def _profiles_under_k0(count: int) -> list[int]:
    """Primary keys of new profiles whose full_name is "Original <n>" (the ring is k0)."""
    return [
        user_create(
            username=f"cas{n}", password=PASSWORD, contact={"full_name": f"Original {n}"}
        ).profile.pk
        for n in range(count)
    ]


@pytest.mark.django_db
def test_rotate_column_rewrites_stale_values_when_nothing_races(rings):
    pks = _profiles_under_k0(3)
    rings.use("k1", "k0")
    report = RotationReport()

    rotate_column(Column(Profile, Profile._meta.get_field("full_name")), report, dry_run=False)

    assert (report.rewritten, report.skipped_concurrent, report.failed) == (3, 0, [])
    assert report.key_ids == {"k0": 3}
    assert [Profile.objects.get(pk=pk).full_name for pk in pks] == [
        "Original 0",
        "Original 1",
        "Original 2",
    ]


@pytest.mark.django_db
def test_rotate_column_leaves_a_row_changed_between_read_and_write(rings, monkeypatch):
    pks = _profiles_under_k0(3)
    rings.use("k1", "k0")
    racing_pk = pks[1]
    racing_token = raw_value(Profile, racing_pk, "full_name")
    real_decrypt = rotation.decrypt_value

    def racing_decrypt(token, *, aad):
        # Another writer saves this row after the rotation read it and before it writes.
        if token == racing_token:
            Profile.objects.filter(pk=racing_pk).update(full_name="Changed meanwhile")
        return real_decrypt(token, aad=aad)

    monkeypatch.setattr(rotation, "decrypt_value", racing_decrypt)
    report = RotationReport()

    rotate_column(
        Column(Profile, Profile._meta.get_field("full_name")), report, dry_run=False, batch_size=2
    )

    assert (report.rewritten, report.skipped_concurrent) == (2, 1)
    assert [Profile.objects.get(pk=pk).full_name for pk in pks] == [
        "Original 0",
        "Changed meanwhile",
        "Original 2",
    ]
    assert all(raw_value(Profile, pk, "full_name").startswith("e1:k1:") for pk in pks)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite allows one writer at a time, so there is no real race",
)
def test_rotation_keeps_updates_made_while_it_runs(rings, monkeypatch):
    # 200 profiles under k0; while the rotation runs (batches of 1, in its own thread and
    # connection), a writer thread saves new full names. Half of those saves are made to land
    # exactly between the rotation's read of a row and its write; the others run freely.
    count = 200
    users = User.objects.bulk_create(
        [User(username=f"bulk{n}", password="!") for n in range(count)]
    )
    Profile.objects.bulk_create(
        [
            Profile(user=user, full_name=f"Name {n}", email=f"bulk{n}@example.tn", address=f"{n}")
            for n, user in enumerate(users)
        ]
    )
    pks = list(Profile.objects.order_by("pk").values_list("pk", flat=True))
    changed = pks[::5]
    in_window = {raw_value(Profile, pk, "full_name"): pk for pk in changed[::2]}
    free = changed[1::2]
    rings.use("k1", "k0")

    requests: queue.Queue = queue.Queue()
    done: queue.Queue = queue.Queue()
    rotation_running = threading.Event()
    errors, output, overlapped = [], StringIO(), []
    real_decrypt = rotation.decrypt_value

    def decrypt_with_a_write_in_the_window(token, *, aad):
        rotation_running.set()
        if token in in_window:
            requests.put(in_window[token])  # the row was read; let the writer save it now
            assert done.get(timeout=10) == in_window[token]
        return real_decrypt(token, aad=aad)

    monkeypatch.setattr(rotation, "decrypt_value", decrypt_with_a_write_in_the_window)

    def save_full_name(pk):
        profile = Profile.objects.get(pk=pk)
        profile.full_name = f"Concurrent {pk}"
        profile.save(update_fields=["full_name"])

    def run_rotation():
        try:
            call_command("rotate_encryption_keys", "--batch-size", "1", stdout=output)
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            requests.put(None)
            connection.close()

    def run_writer():
        pending = list(free)
        try:
            while True:
                try:
                    pk = requests.get(timeout=0.002)
                except queue.Empty:
                    if pending and rotation_running.is_set():
                        save_full_name(pending.pop(0))
                        overlapped.append(rotation_thread.is_alive())
                    continue
                if pk is None:
                    break
                save_full_name(pk)
                done.put(pk)
            for pk in pending:  # if the rotation outran the writer
                save_full_name(pk)
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    rotation_thread = threading.Thread(target=run_rotation)
    writer_thread = threading.Thread(target=run_writer)
    writer_thread.start()
    rotation_thread.start()
    rotation_thread.join(120)
    writer_thread.join(120)

    assert errors == []
    assert any(overlapped), "no free-running write overlapped the rotation"
    rings.use("k1")
    names = dict(Profile.objects.values_list("pk", "full_name"))  # every value decrypts
    for n, pk in enumerate(pks):
        assert names[pk] == (f"Concurrent {pk}" if pk in changed else f"Name {n}")
    assert key_ids(raw_encrypted_values()) == {"k1": 3 * count}
    rewritten, skipped = map(
        int,
        re.search(
            r"Re-encrypted (\d+) values and \d+ files; (\d+) values changed", output.getvalue()
        ).groups(),
    )
    assert skipped >= len(in_window)
    assert 3 * count - len(free) <= rewritten + skipped <= 3 * count


# --- blind index recomputation -------------------------------------------------------------


@pytest.mark.django_db
def test_reindex_after_the_index_key_changed(settings):
    populate(3)
    user_create(username="noemail", password=PASSWORD, contact={"full_name": "No Email"})
    settings.BLIND_INDEX_KEY = generate_key()
    assert not Profile.objects.blind_lookup(email="client1@example.tn").exists()
    assert not Profile.objects.blind_lookup(phone="20 123 451").exists()

    output = rotate("--reindex")

    assert "accounts.Profile.email_index: 3 index values recomputed" in output
    assert "accounts.Profile.phone_index: 3 index values recomputed" in output
    assert Profile.objects.blind_lookup(email="CLIENT1@example.tn").get().full_name == (
        "Client Numero 1"
    )
    assert Profile.objects.blind_lookup(phone="20 123 451").get().full_name == "Client Numero 1"
    again = rotate("--reindex")
    assert "accounts.Profile.email_index: 0 index values recomputed" in again
    assert "accounts.Profile.phone_index: 0 index values recomputed" in again


@pytest.mark.django_db
def test_reindex_is_not_done_in_a_dry_run(settings):
    populate(1)
    settings.BLIND_INDEX_KEY = generate_key()

    output = rotate("--dry-run", "--reindex")

    assert "recomputed" not in output
    assert not Profile.objects.blind_lookup(email="client0@example.tn").exists()


@pytest.mark.django_db
def test_batch_size_must_be_positive():
    with pytest.raises(CommandError, match="batch-size"):
        rotate("--batch-size", "0")


# --- generate_encryption_key ---------------------------------------------------------------


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_encryption_key", *args, stdout=out)
    return out.getvalue().strip()


def decoded_length(key: str) -> int:
    return len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)))


def test_generated_field_key_is_an_entry_of_the_ring(settings):
    entry = generate()

    match = re.fullmatch(r"(k\d{8}):([A-Za-z0-9_-]{43})", entry)
    assert match, entry
    assert decoded_length(match.group(2)) == 32
    settings.FIELD_ENCRYPTION_KEYS = entry
    assert get_keys().active_id == match.group(1)


def test_generated_field_key_takes_the_given_id():
    entry = generate("--id", "k2")

    kid, key = entry.split(":")
    assert kid == "k2" and KEY_RE.fullmatch(key) and decoded_length(key) == 32


def test_generated_index_key_is_bare():
    key = generate("--kind", "index")

    assert KEY_RE.fullmatch(key), key
    assert decoded_length(key) == 32


def test_generated_keys_differ():
    assert len({generate("--kind", "index") for _ in range(5)}) == 5


@pytest.mark.parametrize("kid", ["bad id", "k" * 17, "k:1", "é1"])
def test_generated_key_with_a_bad_id_is_refused(kid):
    with pytest.raises(CommandError, match="key id"):
        generate("--id", kid)


def test_unknown_kind_is_refused():
    with pytest.raises(CommandError):
        generate("--kind", "master")
