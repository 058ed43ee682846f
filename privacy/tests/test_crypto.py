"""Tests for field value encryption, blind indexes and streamed file encryption."""

import base64
import hashlib
import hmac
import io
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy import crypto
from privacy.crypto import (
    DecryptionError,
    blind_index,
    decrypt_stream,
    decrypt_value,
    encrypt_stream,
    encrypt_value,
    iter_decrypt,
    key_id_of,
)
from privacy.keys import decode_key, get_keys

pytestmark = pytest.mark.usefixtures("key_settings")

AAD = b"accounts.user.email"
CHUNK = 1024


def b64(raw: bytes) -> str:
    """Urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Inverse of b64."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- field values --------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"a", "Zoë Müller".encode(), b"\x00" * 5000])
def test_value_round_trip(plaintext):
    token = encrypt_value(plaintext, aad=AAD)
    assert decrypt_value(token, aad=AAD) == plaintext


def test_value_format(key_settings):
    plaintext = b"secret plate AB-123-CD"
    token = encrypt_value(plaintext, aad=AAD)
    version, kid, payload = token.split(":")
    assert (version, kid) == ("e1", "k1")
    assert "=" not in payload
    blob = unb64(payload)
    assert len(blob) == 12 + len(plaintext) + 16
    assert plaintext not in blob
    # Independent check of the format with the raw primitive.
    key = decode_key(key_settings.k1)
    assert AESGCM(key).decrypt(blob[:12], blob[12:], AAD) == plaintext


def test_value_under_other_aad_fails():
    token = encrypt_value(b"jane@example.com", aad=b"accounts.user.email")
    with pytest.raises(DecryptionError):
        decrypt_value(token, aad=b"customers.customer.email")
    with pytest.raises(DecryptionError):
        decrypt_value(token, aad=b"")


@pytest.mark.parametrize("position", [0, 11, 12, 20, -16, -1], ids=lambda p: f"byte{p}")
def test_tampered_value_fails(position):
    token = encrypt_value(b"some plaintext!!", aad=AAD)
    prefix, payload = token.rsplit(":", 1)
    blob = bytearray(unb64(payload))
    blob[position] ^= 0x01
    with pytest.raises(DecryptionError, match="authentication"):
        decrypt_value(f"{prefix}:{b64(bytes(blob))}", aad=AAD)


def test_non_canonical_base64_fails():
    token = encrypt_value(b"", aad=AAD)  # 28 bytes: the last character has 4 unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]
    assert unb64(twin.split(":")[2]) == unb64(token.split(":")[2])
    with pytest.raises(DecryptionError, match="Malformed"):
        decrypt_value(twin, aad=AAD)


def test_truncated_value_fails():
    token = encrypt_value(b"some plaintext", aad=AAD)
    prefix, payload = token.rsplit(":", 1)
    blob = unb64(payload)
    for cut in (1, 16, len(blob) - 28):
        with pytest.raises(DecryptionError):
            decrypt_value(f"{prefix}:{b64(blob[:-cut])}", aad=AAD)


def test_unknown_kid_fails():
    token = encrypt_value(b"x", aad=AAD)
    forged = "e1:zz:" + token.split(":", 2)[2]
    with pytest.raises(DecryptionError, match="zz"):
        decrypt_value(forged, aad=AAD)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "e1",
        "e1:k1",
        "e1:k1:",
        "plain text",
        "e2:k1:" + b64(bytes(range(40))),
        "E1:k1:" + b64(bytes(range(40))),
        "e1:bad id:" + b64(bytes(range(40))),
        "e1::" + b64(bytes(range(40))),
        "e1:" + "k" * 17 + ":" + b64(bytes(range(40))),
        "e1:k1:" + b64(bytes(range(40))) + "=",
        "e1:k1:" + b64(bytes(range(40))) + ":x",
        "e1:k1:!!!!" + b64(bytes(range(40))),
        "e1:k1:" + base64.b64encode(b"\xfb\xff" * 20).decode(),
        "e1:k1:" + b64(bytes(range(27))),
        "e1:k1:A",
    ],
)
def test_wrong_format_fails(token):
    with pytest.raises(DecryptionError):
        decrypt_value(token, aad=AAD)


@pytest.mark.parametrize("token", [None, b"e1:k1:AAAA", 42])
def test_non_string_token_fails(token):
    with pytest.raises(DecryptionError):
        decrypt_value(token, aad=AAD)


def test_errors_never_contain_token_or_plaintext():
    plaintext = b"very-secret-plaintext"
    token = encrypt_value(plaintext, aad=AAD)
    payload = token.split(":")[2]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for bad, aad in ((token, b"other"), (tampered, AAD), (token + "!", AAD)):
        with pytest.raises(DecryptionError) as excinfo:
            decrypt_value(bad, aad=aad)
        message = str(excinfo.value)
        assert payload[:10] not in message
        assert "very-secret" not in message
        assert excinfo.value.__cause__ is None


def test_aad_must_be_bytes():
    with pytest.raises(TypeError):
        encrypt_value(b"x", aad=None)
    token = encrypt_value(b"x", aad=b"")
    with pytest.raises(TypeError):
        decrypt_value(token, aad=None)


def test_key_id_of():
    token = encrypt_value(b"x", aad=AAD)
    assert key_id_of(token) == "k1"
    with pytest.raises(DecryptionError):
        key_id_of("not a token")


def test_key_rotation(settings, key_settings):
    old = encrypt_value(b"old value", aad=AAD)
    assert key_id_of(old) == "k1"

    settings.FIELD_ENCRYPTION_KEYS = f"k2:{key_settings.k2},k1:{key_settings.k1}"
    assert decrypt_value(old, aad=AAD) == b"old value"
    new = encrypt_value(b"new value", aad=AAD)
    assert key_id_of(new) == "k2"
    assert decrypt_value(new, aad=AAD) == b"new value"

    settings.FIELD_ENCRYPTION_KEYS = f"k2:{key_settings.k2}"
    assert decrypt_value(new, aad=AAD) == b"new value"
    with pytest.raises(DecryptionError):
        decrypt_value(old, aad=AAD)


def test_same_kid_other_key_fails(settings, key_settings):
    token = encrypt_value(b"x", aad=AAD)
    settings.FIELD_ENCRYPTION_KEYS = f"k1:{key_settings.k2}"
    with pytest.raises(DecryptionError):
        decrypt_value(token, aad=AAD)


def test_nonces_are_unique():
    tokens = [encrypt_value(b"same plaintext", aad=AAD) for _ in range(200)]
    assert len(set(tokens)) == 200
    nonces = {unb64(token.split(":")[2])[:12] for token in tokens}
    assert len(nonces) == 200


# --- blind index ---------------------------------------------------------------------------


def test_blind_index_is_deterministic_hex():
    first = blind_index("jane@example.com", purpose="accounts.user.email")
    assert first == blind_index("jane@example.com", purpose="accounts.user.email")
    assert len(first) == 64
    assert int(first, 16) >= 0
    assert first == first.lower()


def test_blind_index_matches_reference(key_settings):
    expected = hmac.new(decode_key(key_settings.index), b"p.q\x00value", hashlib.sha256).hexdigest()
    assert blind_index("value", purpose="p.q") == expected
    assert blind_index("value", purpose="p.q") != hashlib.sha256(b"p.q\x00value").hexdigest()


def test_blind_index_separates_purposes_and_values():
    value = "AB-123-CD"
    indexes = {
        blind_index(value, purpose="vehicles.vehicle.plate"),
        blind_index(value, purpose="customers.customer.phone"),
        blind_index("AB-123-CE", purpose="vehicles.vehicle.plate"),
    }
    assert len(indexes) == 3


def test_blind_index_refuses_ambiguous_purpose():
    assert blind_index("b\x00c", purpose="a") != blind_index("c", purpose="a")
    with pytest.raises(ValueError):
        blind_index("b", purpose="a\x00")
    with pytest.raises(ValueError):
        blind_index("b", purpose="")


def test_blind_index_depends_on_index_key(settings):
    before = blind_index("x", purpose="p")
    settings.BLIND_INDEX_KEY = b64(os.urandom(32))
    assert blind_index("x", purpose="p") != before


# --- streams -------------------------------------------------------------------------------


def header_length(kid: str = "k1") -> int:
    """Bytes of a stream header for this key id."""
    return 5 + 1 + 1 + len(kid) + 4 + 8


def encrypt_bytes(data: bytes, **kwargs) -> bytes:
    """Encrypt in memory."""
    out = io.BytesIO()
    written = encrypt_stream(io.BytesIO(data), out, **kwargs)
    assert written == len(out.getvalue())
    return out.getvalue()


def decrypt_bytes(data: bytes, **kwargs) -> bytes:
    """Decrypt in memory."""
    out = io.BytesIO()
    written = decrypt_stream(io.BytesIO(data), out, **kwargs)
    assert written == len(out.getvalue())
    return out.getvalue()


def split_stream(blob: bytes, chunk_size: int = CHUNK) -> tuple[bytes, list[bytes]]:
    """Split an encrypted stream into header and sealed chunks."""
    header, body = blob[: header_length()], blob[header_length() :]
    step = chunk_size + 16
    return header, [body[i : i + step] for i in range(0, len(body), step)]


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17])
def test_stream_round_trip(size):
    data = os.urandom(size)
    blob = encrypt_bytes(data, aad=AAD, chunk_size=CHUNK)
    chunks = size // CHUNK + 1  # a short (maybe empty) final chunk always ends the stream
    assert len(blob) == header_length() + size + 16 * chunks
    assert blob.startswith(b"ECAR1\x01\x02k1" + CHUNK.to_bytes(4, "big"))
    assert decrypt_bytes(blob, aad=AAD) == data
    pieces = list(iter_decrypt(io.BytesIO(blob), aad=AAD))
    assert b"".join(pieces) == data
    assert all(0 < len(piece) <= CHUNK for piece in pieces)


@pytest.mark.parametrize("size", [0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 3 * 64 * 1024])
def test_stream_round_trip_default_chunk_size(size):
    data = os.urandom(size)
    assert decrypt_bytes(encrypt_bytes(data)) == data


def test_empty_stream_is_header_plus_one_tag():
    assert len(encrypt_bytes(b"")) == header_length() + 16


def test_streams_of_same_data_differ():
    data = os.urandom(100)
    assert encrypt_bytes(data) != encrypt_bytes(data)


class GuardedReader:
    """A file wrapper that fails on unbounded reads and returns at most `trickle` bytes."""

    def __init__(self, raw, limit: int, trickle: int | None = None):
        self.raw, self.limit, self.trickle, self.largest = raw, limit, trickle, 0

    def read(self, size: int = -1) -> bytes:
        assert size is not None and 0 < size <= self.limit, f"unbounded read({size})"
        self.largest = max(self.largest, size)
        return self.raw.read(min(size, self.trickle or size))


def sha256_file(path) -> str:
    """Hash a file in 1 MiB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while piece := handle.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()


def test_stream_20_mb_with_bounded_reads(tmp_path):
    plain, sealed, opened = tmp_path / "plain", tmp_path / "sealed", tmp_path / "opened"
    digest = hashlib.sha256()
    with open(plain, "wb") as handle:
        for _ in range(20):
            piece = os.urandom(1 << 20)
            digest.update(piece)
            handle.write(piece)
    chunk = 64 * 1024
    with open(plain, "rb") as src, open(sealed, "wb") as dst:
        reader = GuardedReader(src, limit=chunk)
        written = encrypt_stream(reader, dst, aad=AAD)
    assert reader.largest == chunk
    assert written == sealed.stat().st_size == header_length() + 20 * (1 << 20) + 16 * 321
    with open(sealed, "rb") as src, open(opened, "wb") as dst:
        reader = GuardedReader(src, limit=chunk + 16)
        assert decrypt_stream(reader, dst, aad=AAD) == 20 * (1 << 20)
    assert reader.largest == chunk + 16
    assert sha256_file(opened) == sha256_file(plain) == digest.hexdigest()
    with open(sealed, "rb") as src:
        streamed = hashlib.sha256()
        for piece in iter_decrypt(src, aad=AAD):
            assert len(piece) <= chunk
            streamed.update(piece)
    assert streamed.hexdigest() == digest.hexdigest()


def test_short_reads_do_not_change_the_format():
    data = os.urandom(3 * CHUNK + 5)
    blob = encrypt_bytes(data, chunk_size=CHUNK)
    out = io.BytesIO()
    encrypt_stream(GuardedReader(io.BytesIO(data), CHUNK, trickle=7), out, chunk_size=CHUNK)
    assert len(out.getvalue()) == len(blob)
    result = io.BytesIO()
    decrypt_stream(GuardedReader(io.BytesIO(out.getvalue()), CHUNK + 16, trickle=5), result)
    assert result.getvalue() == data


def test_stream_aad_mismatch_fails():
    blob = encrypt_bytes(b"file", aad=b"documents.document.file:1")
    with pytest.raises(DecryptionError):
        decrypt_bytes(blob, aad=b"documents.document.file:2")


@pytest.mark.parametrize("size", [CHUNK, 3 * CHUNK, 3 * CHUNK + 10])
def test_stream_truncated_at_chunk_boundary_fails(size):
    header, chunks = split_stream(encrypt_bytes(os.urandom(size), chunk_size=CHUNK))
    for keep in range(len(chunks)):
        with pytest.raises(DecryptionError):
            decrypt_bytes(header + b"".join(chunks[:keep]))


def test_stream_dropped_last_chunk_fails():
    header, chunks = split_stream(encrypt_bytes(os.urandom(2 * CHUNK + 9), chunk_size=CHUNK))
    assert len(chunks) == 3 and len(chunks[-1]) == 9 + 16
    with pytest.raises(DecryptionError, match="truncated"):
        decrypt_bytes(header + chunks[0] + chunks[1])


def test_stream_truncated_inside_chunk_or_header_fails():
    blob = encrypt_bytes(os.urandom(2 * CHUNK + 9), chunk_size=CHUNK)
    for cut in (1, 10, 25, 26, CHUNK, len(blob) - header_length(), len(blob) - 3, len(blob)):
        with pytest.raises(DecryptionError):
            decrypt_bytes(blob[:-cut])


def test_stream_reordered_dropped_or_duplicated_chunks_fail():
    header, chunks = split_stream(encrypt_bytes(os.urandom(3 * CHUNK + 9), chunk_size=CHUNK))
    a, b, c, last = chunks
    for body in (
        [b, a, c, last],
        [a, c, b, last],
        [a, b, last],
        [a, a, b, c, last],
        [a, b, c, c, last],
        [a, b, c, last, last],
    ):
        with pytest.raises(DecryptionError):
            decrypt_bytes(header + b"".join(body))
    assert decrypt_bytes(header + b"".join(chunks))


def test_stream_chunks_from_another_stream_fail():
    data = os.urandom(2 * CHUNK + 1)
    header1, chunks1 = split_stream(encrypt_bytes(data, chunk_size=CHUNK))
    header2, chunks2 = split_stream(encrypt_bytes(data, chunk_size=CHUNK))
    with pytest.raises(DecryptionError):
        decrypt_bytes(header1 + chunks1[0] + chunks2[1] + chunks1[2])
    with pytest.raises(DecryptionError):
        decrypt_bytes(header2 + b"".join(chunks1))


@pytest.mark.parametrize("position", range(header_length()))
def test_stream_flipped_header_byte_fails(position):
    blob = bytearray(encrypt_bytes(os.urandom(CHUNK + 3), chunk_size=CHUNK))
    blob[position] ^= 0x01
    with pytest.raises(DecryptionError):
        decrypt_bytes(bytes(blob))


def test_stream_header_is_authenticated_even_when_chunks_still_parse():
    blob = bytearray(encrypt_bytes(b"short", chunk_size=CHUNK))
    blob[9:13] = (CHUNK + 1).to_bytes(4, "big")  # the lone final chunk still reads the same
    with pytest.raises(DecryptionError, match="authentication"):
        decrypt_bytes(bytes(blob))


@pytest.mark.parametrize("offset", [0, 100, CHUNK - 1, CHUNK, CHUNK + 15, CHUNK + 16, CHUNK + 20])
def test_stream_flipped_chunk_byte_fails(offset):
    blob = bytearray(encrypt_bytes(os.urandom(CHUNK + 10), chunk_size=CHUNK))
    blob[header_length() + offset] ^= 0x80
    with pytest.raises(DecryptionError, match="authentication"):
        decrypt_bytes(bytes(blob))


@pytest.mark.parametrize("size", [0, CHUNK, CHUNK + 5])
@pytest.mark.parametrize("garbage", [b"\x00", b"x" * 100])
def test_stream_trailing_data_fails(size, garbage):
    blob = encrypt_bytes(os.urandom(size), chunk_size=CHUNK)
    # Read with the final chunk, the extra bytes make it fail authentication.
    with pytest.raises(DecryptionError):
        decrypt_bytes(blob + garbage)


class ScriptedReader:
    """Serves pieces in order; an empty piece is one end-of-file (as a pipe or tty may give)."""

    def __init__(self, *pieces: bytes):
        self.pieces = list(pieces)

    def read(self, size: int) -> bytes:
        if not self.pieces:
            return b""
        if not self.pieces[0]:
            return self.pieces.pop(0)
        data, self.pieces[0] = self.pieces[0][:size], self.pieces[0][size:]
        if not self.pieces[0]:
            self.pieces.pop(0)
        return data


def test_stream_data_after_end_of_file_fails():
    blob = encrypt_bytes(os.urandom(CHUNK + 5), chunk_size=CHUNK)
    assert decrypt_stream(ScriptedReader(blob, b""), io.BytesIO()) == CHUNK + 5
    with pytest.raises(DecryptionError, match="after the end"):
        decrypt_stream(ScriptedReader(blob, b"", b"more"), io.BytesIO())


def seal_stream(chunks: list[tuple[bytes, int]], chunk_size: int = 4) -> tuple[bytes, bytes]:
    """Build a stream by hand from (plaintext, final flag) pairs; return (key, stream)."""
    key, prefix = os.urandom(32), os.urandom(8)
    header = b"ECAR1\x01\x01x" + chunk_size.to_bytes(4, "big") + prefix
    body = b"".join(
        AESGCM(key).encrypt(prefix + i.to_bytes(4, "big"), plain, header + bytes([flag]))
        for i, (plain, flag) in enumerate(chunks)
    )
    return key, header + body


def test_final_flag_is_authenticated():
    key, good = seal_stream([(b"abcd", 0), (b"ef", 1)])
    assert decrypt_bytes(good, key_lookup=lambda kid: key) == b"abcdef"
    for chunks in (
        [(b"abcd", 0), (b"ef", 0)],  # short chunk not flagged final
        [(b"abcd", 1), (b"ef", 1)],  # final flag on a chunk that is not last
        [(b"abcd", 1)],  # full chunk flagged final: this format ends with a short chunk
    ):
        key, bad = seal_stream(chunks)
        with pytest.raises(DecryptionError):
            decrypt_bytes(bad, key_lookup=lambda kid, key=key: key)


def test_iter_decrypt_raises_after_authentic_chunks_on_truncation():
    header, chunks = split_stream(encrypt_bytes(os.urandom(2 * CHUNK + 1), chunk_size=CHUNK))
    pieces = iter_decrypt(io.BytesIO(header + chunks[0] + chunks[1]))
    assert len(next(pieces)) == CHUNK
    assert len(next(pieces)) == CHUNK
    with pytest.raises(DecryptionError):
        next(pieces)


@pytest.mark.parametrize("blob", [b"", b"ECAR", b"ECAR2\x01\x02k1", b"not a stream at all" * 3])
def test_not_a_stream_fails(blob):
    with pytest.raises(DecryptionError):
        decrypt_bytes(blob)


def test_hostile_chunk_size_refused():
    blob = bytearray(encrypt_bytes(b"x", chunk_size=CHUNK))
    blob[9:13] = (2**32 - 1).to_bytes(4, "big")
    with pytest.raises(DecryptionError, match="header"):
        decrypt_bytes(bytes(blob))


def test_stream_with_explicit_key_and_lookup(key_settings):
    other_key = os.urandom(32)
    data = os.urandom(3000)
    blob = encrypt_bytes(data, key=other_key, kid="other", chunk_size=CHUNK)
    assert blob[7:12] == b"other"
    assert decrypt_bytes(blob, key_lookup={"other": other_key}.__getitem__) == data
    with pytest.raises(DecryptionError):
        decrypt_bytes(blob)  # "other" is not a ring key id
    with pytest.raises(DecryptionError):
        decrypt_bytes(blob, key_lookup=lambda kid: get_keys().active_key)


def test_stream_encrypt_argument_checks():
    with pytest.raises(ValueError):
        encrypt_bytes(b"x", key=os.urandom(32))  # kid missing
    with pytest.raises(ValueError):
        encrypt_bytes(b"x", kid="k1")  # kid without key
    with pytest.raises(ValueError):
        encrypt_bytes(b"x", key=os.urandom(16), kid="x")
    with pytest.raises(ValueError):
        encrypt_bytes(b"x", key=os.urandom(32), kid="bad kid")
    for chunk_size in (0, crypto.MAX_CHUNK_SIZE + 1):
        with pytest.raises(ValueError):
            encrypt_bytes(b"x", chunk_size=chunk_size)


def test_stream_key_rotation(settings, key_settings):
    data = os.urandom(5000)
    old = encrypt_bytes(data, chunk_size=CHUNK)
    settings.FIELD_ENCRYPTION_KEYS = f"k2:{key_settings.k2},k1:{key_settings.k1}"
    assert decrypt_bytes(old) == data
    assert encrypt_bytes(data)[7:9] == b"k2"
    settings.FIELD_ENCRYPTION_KEYS = f"k2:{key_settings.k2}"
    with pytest.raises(DecryptionError):
        decrypt_bytes(old)


def test_chunk_limit(monkeypatch):
    monkeypatch.setattr(crypto, "MAX_CHUNKS", 3)
    assert decrypt_bytes(encrypt_bytes(b"x" * 20, chunk_size=10)) == b"x" * 20  # 3 chunks
    with pytest.raises(ValueError, match="too long"):
        encrypt_bytes(b"x" * 30, chunk_size=10)  # would need 4
    monkeypatch.setattr(crypto, "MAX_CHUNKS", 10)
    blob = encrypt_bytes(b"x" * 30, chunk_size=10)
    monkeypatch.setattr(crypto, "MAX_CHUNKS", 3)
    with pytest.raises(DecryptionError, match="too many"):
        decrypt_bytes(blob)
