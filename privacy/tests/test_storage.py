"""The encrypted file storage: random names, private files, authenticated streams, no URLs."""

import hashlib
import os
import re
import stat
import tracemalloc

import pytest
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection, transaction

from privacy import storage as storage_module
from privacy.crypto import DEFAULT_CHUNK_SIZE, TAG_SIZE, DecryptionError
from privacy.models import StoredFile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("key_settings")]

CHUNK = DEFAULT_CHUNK_SIZE
ORIGINAL_NAME = "carte-grise.pdf"
STORED_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}\.enc")
HEADER_SIZE = len(b"ECAR1") + 2 + len("k1") + 4 + 8  # magic, version, kid length, kid, size, prefix
BIG = 20 * 1024 * 1024


@pytest.fixture
def storage():
    return storages["encrypted"]


def store(data: bytes, name: str = ORIGINAL_NAME) -> StoredFile:
    return StoredFile.objects.create(
        file=ContentFile(data, name=name),
        original_name=name,
        content_type="application/pdf",
        size=len(data),
    )


def on_disk(storage, name: str) -> bytes:
    with open(storage.path(name), "rb") as handle:
        return handle.read()


def write_on_disk(storage, name: str, data: bytes) -> None:
    with open(storage.path(name), "wb") as handle:
        handle.write(data)


def read_with_open(storage, name: str) -> bytes:
    with storage.open(name) as handle:
        return handle.read()


def read_with_iter(storage, name: str) -> bytes:
    return b"".join(storage.iter_plaintext(name))


READERS = [read_with_open, read_with_iter]


def windows(data: bytes, size: int = 16):
    """A few size-byte slices of data: start, middle, end and one every 64 KiB."""
    starts = {0, max(0, len(data) // 2 - size // 2), len(data) - size}
    starts |= set(range(0, len(data) - size, 64 * 1024))
    return [data[start : start + size] for start in sorted(starts)]


# --- writing and reading -------------------------------------------------------------------


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1], ids=["0", "1", "chunk-1", "chunk", "chunk+1"]
)
def test_small_files_round_trip_encrypted_under_a_random_name(storage, size):
    data = os.urandom(size)

    stored = store(data)

    name = stored.file.name
    assert STORED_NAME.fullmatch(name), name
    assert "carte" not in name and "grise" not in name
    raw = on_disk(storage, name)
    assert len(raw) == HEADER_SIZE + size + TAG_SIZE * (size // CHUNK + 1)
    if size > 16:
        assert all(window not in raw for window in windows(data))
    path = storage.path(name)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) & 0o077 == 0
    for reader in READERS:
        assert reader(storage, name) == data
    chunks = list(storage.iter_plaintext(name))
    assert all(0 < len(chunk) <= CHUNK for chunk in chunks)
    with StoredFile.objects.get(pk=stored.pk).file.open("rb") as handle:
        assert handle.read() == data


def test_twenty_megabytes_stream_with_bounded_memory(storage, tmp_path):
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(source, "wb") as handle:
        for _ in range(BIG // (1024 * 1024)):
            piece = os.urandom(1024 * 1024)
            digest.update(piece)
            handle.write(piece)
    last_piece_end = piece[-16:]

    with open(source, "rb") as handle:
        stored = StoredFile.objects.create(
            file=File(handle, name=ORIGINAL_NAME),
            original_name=ORIGINAL_NAME,
            content_type="application/pdf",
            size=BIG,
        )

    name = stored.file.name
    assert STORED_NAME.fullmatch(name)
    assert stat.S_IMODE(os.stat(storage.path(name)).st_mode) == 0o600
    raw = on_disk(storage, name)
    assert len(raw) == HEADER_SIZE + BIG + TAG_SIZE * (BIG // CHUNK + 1)
    with open(source, "rb") as handle:
        plain_start = handle.read(CHUNK)
    assert all(window not in raw for window in [*windows(plain_start), last_piece_end])
    del raw

    tracemalloc.start()
    try:
        streamed, largest = hashlib.sha256(), 0
        for chunk in storage.iter_plaintext(name):
            streamed.update(chunk)
            largest = max(largest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert streamed.hexdigest() == digest.hexdigest()
    assert largest <= CHUNK
    assert peak < 2 * 1024 * 1024, f"iter_plaintext peaked at {peak} bytes"

    opened = hashlib.sha256()
    with storage.open(name) as handle:
        while block := handle.read(1024 * 1024):
            opened.update(block)
    assert opened.hexdigest() == digest.hexdigest()


def test_metadata_is_encrypted_in_the_database():
    stored = store(b"%PDF-1.7")
    qn = connection.ops.quote_name

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn('original_name')}, {qn('content_type')}, {qn('file')} "
            f"FROM {qn(StoredFile._meta.db_table)}"
        )
        ((original_name, content_type, file_name),) = cursor.fetchall()

    assert original_name.startswith("e1:k1:") and content_type.startswith("e1:k1:")
    assert "carte" not in original_name and "pdf" not in content_type
    assert "carte" not in file_name
    fresh = StoredFile.objects.get(pk=stored.pk)
    assert (fresh.original_name, fresh.content_type) == (ORIGINAL_NAME, "application/pdf")


def test_same_content_twice_gives_different_files(storage):
    data = os.urandom(1000)

    first, second = store(data), store(data)

    assert first.file.name != second.file.name
    assert on_disk(storage, first.file.name) != on_disk(storage, second.file.name)


def test_no_url_is_ever_given(storage):
    stored = store(b"%PDF-1.7")

    with pytest.raises(ValueError, match="no URL"):
        storage.url(stored.file.name)
    with pytest.raises(ValueError, match="no URL"):
        _ = stored.file.url


def test_stored_files_are_read_only(storage):
    stored = store(b"%PDF-1.7")

    for mode in ("wb", "ab", "r+b"):
        with pytest.raises(ValueError, match="read-only"):
            storage.open(stored.file.name, mode)


def test_failed_write_leaves_no_file_behind(storage, monkeypatch):
    def broken_encrypt(src, dst, **kwargs):
        dst.write(b"ECAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(storage_module, "encrypt_stream", broken_encrypt)
    files_before = sorted(_all_files(storage.location))

    with pytest.raises(OSError, match="disk full"), transaction.atomic():
        store(b"%PDF-1.7")

    assert sorted(_all_files(storage.location)) == files_before
    assert not StoredFile.objects.exists()


def _all_files(root: str) -> list[str]:
    return [os.path.join(path, name) for path, _, names in os.walk(root) for name in names]


def test_saving_through_the_storage_directly_also_uses_a_random_name(storage):
    name = storage.save(ORIGINAL_NAME, ContentFile(b"%PDF-1.7"))
    try:
        assert STORED_NAME.fullmatch(name), name
    finally:
        storage.delete(name)


# --- tampering -----------------------------------------------------------------------------


def _three_and_a_bit_chunks() -> bytes:
    return os.urandom(3 * CHUNK + 100)


def _chunk_span(index: int) -> slice:
    start = HEADER_SIZE + index * (CHUNK + TAG_SIZE)
    return slice(start, start + CHUNK + TAG_SIZE)


def truncate_at_chunk_boundary(raw: bytes) -> bytes:
    return raw[: _chunk_span(2).stop]


def drop_last_chunk(raw: bytes) -> bytes:
    return raw[: _chunk_span(3).start]


def swap_two_chunks(raw: bytes) -> bytes:
    first, second = raw[_chunk_span(0)], raw[_chunk_span(1)]
    return raw[: _chunk_span(0).start] + second + first + raw[_chunk_span(1).stop :]


def flip_a_ciphertext_byte(raw: bytes) -> bytes:
    position = _chunk_span(1).start + 1000
    return raw[:position] + bytes([raw[position] ^ 0x01]) + raw[position + 1 :]


def flip_a_tag_byte(raw: bytes) -> bytes:
    position = len(raw) - 1
    return raw[:position] + bytes([raw[position] ^ 0x80])


def flip_a_header_byte(raw: bytes) -> bytes:
    position = HEADER_SIZE - 1  # last byte of the nonce prefix
    return raw[:position] + bytes([raw[position] ^ 0x01]) + raw[position + 1 :]


def append_garbage(raw: bytes) -> bytes:
    return raw + b"\x00garbage"


def append_a_copy_of_the_last_chunk(raw: bytes) -> bytes:
    return raw + raw[_chunk_span(3).start :]


def keep_only_the_header(raw: bytes) -> bytes:
    return raw[:HEADER_SIZE]


TAMPERINGS = [
    truncate_at_chunk_boundary,
    drop_last_chunk,
    swap_two_chunks,
    flip_a_ciphertext_byte,
    flip_a_tag_byte,
    flip_a_header_byte,
    append_garbage,
    append_a_copy_of_the_last_chunk,
    keep_only_the_header,
]


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.__name__)
@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda tamper: tamper.__name__)
def test_tampered_file_fails_to_read(storage, tamper, reader):
    stored = store(_three_and_a_bit_chunks())
    name = stored.file.name
    raw = on_disk(storage, name)
    tampered = tamper(raw)
    assert tampered != raw
    write_on_disk(storage, name, tampered)

    with pytest.raises(DecryptionError):
        reader(storage, name)


def test_truncated_multiple_of_chunk_size_fails(storage):
    # Plaintext of exactly two chunks: the stream ends with an empty final chunk (its tag only).
    stored = store(os.urandom(2 * CHUNK))
    name = stored.file.name
    raw = on_disk(storage, name)
    write_on_disk(storage, name, raw[:-TAG_SIZE])

    with pytest.raises(DecryptionError):
        read_with_iter(storage, name)


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.__name__)
def test_files_swapped_on_disk_fail_to_read(storage, reader):
    first, second = store(b"first file " * 50), store(b"second file" * 50)
    a, b = first.file.name, second.file.name
    raw_a, raw_b = on_disk(storage, a), on_disk(storage, b)
    write_on_disk(storage, a, raw_b)
    write_on_disk(storage, b, raw_a)

    with pytest.raises(DecryptionError):
        reader(storage, a)
    with pytest.raises(DecryptionError):
        reader(storage, b)


def test_file_under_an_unknown_key_fails(storage, settings, key_settings):
    stored = store(b"%PDF-1.7 " * 20)
    settings.FIELD_ENCRYPTION_KEYS = f"k2:{key_settings.k2}"

    with pytest.raises(DecryptionError):
        read_with_iter(storage, stored.file.name)
