"""AES-256-GCM for field values and streamed files, and HMAC-SHA256 blind indexes.

Field value: "e1:<kid>:<urlsafe b64, no padding, of nonce(12) || ciphertext || tag(16)>".

Stream: header = b"ECAR1" || version(1) || len(kid)(1) || kid || chunk_size(4, BE) || prefix(8),
then chunks of ciphertext || tag(16). Chunk i uses nonce = prefix || i (4 bytes, BE) and
AAD = header || aad || final flag (1 byte). Every chunk but the last holds exactly chunk_size
plaintext bytes; the last (flag 1) holds fewer, so it is empty when the plaintext length is a
multiple of chunk_size. A stream always ends with a final chunk and nothing after it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .keys import KEY_ID_RE, KEY_SIZE, UnknownKeyError, get_keys

VALUE_PREFIX = "e1"
NONCE_SIZE = 12
TAG_SIZE = 16
STREAM_MAGIC = b"ECAR1"
STREAM_VERSION = 1
DEFAULT_CHUNK_SIZE = 256 * 1024  # streams state their own size: older 64 KiB ones still read
MAX_CHUNK_SIZE = 16 * 1024 * 1024  # bounds what a hostile header can make us allocate
MAX_CHUNKS = 2**32 - 1
_B64_RE = re.compile(r"[A-Za-z0-9_-]*")
_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64_VALUE = {char: value for value, char in enumerate(_B64_ALPHABET)}
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# Per length mod 4: the padding to restore, and the low bits of the last character that carry
# no data (they must be zero in the one canonical form).
_B64_PADDING = ("", "", "==", "=")
_B64_UNUSED_BITS = (0, 0, 0b1111, 0b11)

KeyLookup = Callable[[str], bytes]
_T = TypeVar("_T")


class DecryptionError(Exception):
    """A value or stream is malformed, under an unknown key, or fails authentication."""


def _b64encode(data: bytes) -> str:
    """Urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict inverse of _b64encode, without encoding the result again to compare."""
    tail = len(text) % 4
    if tail == 1 or not _B64_RE.fullmatch(text):
        raise ValueError("not urlsafe base64")
    if tail and _B64_VALUE[text[-1]] & _B64_UNUSED_BITS[tail]:
        raise ValueError("not canonical base64")  # one stored form per ciphertext
    padded = (text + _B64_PADDING[tail]).encode("ascii").translate(_URLSAFE_TO_STANDARD)
    try:
        return binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error:
        raise ValueError("not urlsafe base64") from None


def _split_token(token: str) -> tuple[str, str]:
    """Return (kid, payload) of a field value, or raise DecryptionError."""
    if not isinstance(token, str):
        raise DecryptionError("Encrypted value is not a string.")
    version, _, rest = token.partition(":")
    kid, _, payload = rest.partition(":")
    if version != VALUE_PREFIX or not KEY_ID_RE.fullmatch(kid) or not payload:
        raise DecryptionError("Malformed encrypted value.")
    return kid, payload


def _lookup(key_lookup: Callable[[str], _T], kid: str) -> _T:
    """Fetch a key (or its cipher) by id, turning a missing key into DecryptionError."""
    try:
        return key_lookup(kid)
    except (UnknownKeyError, KeyError):
        raise DecryptionError(f"No key with id {kid!r} to decrypt with.") from None


def _check_aad(aad: bytes) -> None:
    """Refuse a missing aad: AESGCM would silently treat None as no associated data."""
    if not isinstance(aad, bytes):
        raise TypeError("aad must be bytes.")


def encrypt_value(plaintext: bytes, *, aad: bytes) -> str:
    """Encrypt a field value under the active key; aad binds it to its column."""
    _check_aad(aad)
    ring = get_keys()
    # Random 96-bit nonces stay safe for ~2**32 values per key (NIST SP 800-38D): rotate before.
    nonce = os.urandom(NONCE_SIZE)
    sealed = ring.cipher(ring.active_id).encrypt(nonce, bytes(plaintext), aad)
    return f"{VALUE_PREFIX}:{ring.active_id}:{_b64encode(nonce + sealed)}"


def decrypt_value(token: str, *, aad: bytes) -> bytes:
    """Decrypt a value from encrypt_value with the same aad, or raise DecryptionError."""
    _check_aad(aad)
    kid, payload = _split_token(token)
    try:
        blob = _b64decode(payload)
    except ValueError:
        raise DecryptionError("Malformed encrypted value.") from None
    if len(blob) < NONCE_SIZE + TAG_SIZE:
        raise DecryptionError("Malformed encrypted value.")
    cipher = _lookup(get_keys().cipher, kid)
    try:
        return cipher.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], aad)
    except InvalidTag:
        raise DecryptionError("Encrypted value failed authentication.") from None


def key_id_of(token: str) -> str:
    """Id of the key a stored value is encrypted under (to find values to rotate)."""
    return _split_token(token)[0]


def blind_index(normalised: str, *, purpose: str) -> str:
    """Keyed hash (64 hex chars) for equality lookups; purpose keeps columns uncorrelated."""
    if not purpose or "\x00" in purpose:
        # The NUL separator is only unambiguous if purpose cannot contain one.
        raise ValueError("purpose must be a non-empty string without NUL.")
    message = purpose.encode() + b"\x00" + normalised.encode()
    return hmac.new(get_keys().index_key, message, hashlib.sha256).hexdigest()


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Read size bytes, fewer only at end of stream."""
    data = src.read(size)
    if not data or len(data) == size:
        return data or b""
    parts = [data]
    remaining = size - len(data)
    while remaining:
        more = src.read(remaining)
        if not more:
            break
        parts.append(more)
        remaining -= len(more)
    return b"".join(parts)


def _read_into(src: BinaryIO, buffer: memoryview) -> int:
    """Fill buffer from src (readinto when it has one); fewer bytes only at end of stream."""
    readinto = getattr(src, "readinto", None)
    filled = 0
    while filled < len(buffer):
        if readinto is not None:
            count = readinto(buffer[filled:])
        else:
            data = src.read(len(buffer) - filled)
            count = len(data)
            buffer[filled : filled + count] = data
        if not count:
            break
        filled += count
    return filled


def _nonce(prefix: bytes, index: int) -> bytes:
    """Chunk nonce: per-file random prefix and chunk counter."""
    return prefix + struct.pack(">I", index)


def encrypt_stream(
    src: BinaryIO,
    dst: BinaryIO,
    *,
    key: bytes | None = None,
    kid: str | None = None,
    aad: bytes = b"",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> int:
    """Encrypt src into dst chunk by chunk; return the number of bytes written."""
    _check_aad(aad)
    if key is None:
        if kid is not None:
            raise ValueError("kid is only given together with an explicit key.")
        ring = get_keys()
        key, kid = ring.active_key, ring.active_id
    if kid is None or not KEY_ID_RE.fullmatch(kid):
        raise ValueError("A key id of 1-16 characters [A-Za-z0-9_-] is required.")
    if len(key) != KEY_SIZE:
        raise ValueError(f"The key must be {KEY_SIZE} bytes.")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}.")
    prefix = os.urandom(8)
    header = (
        STREAM_MAGIC
        + bytes([STREAM_VERSION, len(kid)])
        + kid.encode("ascii")
        + struct.pack(">I", chunk_size)
        + prefix
    )
    aead = AESGCM(key)
    dst.write(header)
    written = len(header)
    # Two buffers for the whole stream: each chunk is read into one and sealed into the other.
    # dst.write() must be done with its argument when it returns (the io contract).
    plain = memoryview(bytearray(chunk_size))
    sealed = memoryview(bytearray(chunk_size + TAG_SIZE))
    index = 0
    while True:
        if index >= MAX_CHUNKS:
            raise ValueError("Stream too long: the chunk counter would repeat a nonce.")
        size = _read_into(src, plain)
        final = size < chunk_size
        out = sealed[: size + TAG_SIZE]
        aead.encrypt_into(_nonce(prefix, index), plain[:size], header + aad + bytes([final]), out)
        dst.write(out)
        written += len(out)
        if final:
            return written
        index += 1


def iter_decrypt(
    src: BinaryIO, *, key_lookup: KeyLookup | None = None, aad: bytes = b""
) -> Iterator[bytes]:
    """Yield plaintext chunks of an encrypted stream.

    Each yielded chunk is authenticated, but truncation or trailing data is only detected at
    the end: a consumer must treat output as invalid if iteration raises DecryptionError.
    """
    _check_aad(aad)
    fixed = _read_exact(src, len(STREAM_MAGIC) + 2)
    if len(fixed) < len(STREAM_MAGIC) + 2 or not fixed.startswith(STREAM_MAGIC):
        raise DecryptionError("Not an encrypted stream.")
    version, kid_length = fixed[-2], fixed[-1]
    if version != STREAM_VERSION:
        raise DecryptionError("Unsupported encrypted stream version.")
    rest = _read_exact(src, kid_length + 4 + 8)
    if len(rest) < kid_length + 12:
        raise DecryptionError("Truncated encrypted stream header.")
    try:
        kid = rest[:kid_length].decode("ascii")
    except UnicodeDecodeError:
        kid = ""
    if not KEY_ID_RE.fullmatch(kid):
        raise DecryptionError("Malformed encrypted stream header.")
    (chunk_size,) = struct.unpack(">I", rest[kid_length : kid_length + 4])
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("Malformed encrypted stream header.")
    prefix = rest[kid_length + 4 :]
    header = fixed + rest
    aead = AESGCM(_lookup(key_lookup or get_keys().get, kid))
    sealed = memoryview(bytearray(chunk_size + TAG_SIZE))
    index = 0
    while True:
        if index >= MAX_CHUNKS:
            raise DecryptionError("Encrypted stream has too many chunks.")
        size = _read_into(src, sealed)
        # Only the last chunk is short, so its length tells the decryptor which flag to expect.
        final = size < chunk_size + TAG_SIZE
        if size < TAG_SIZE:
            raise DecryptionError("Encrypted stream is truncated.")
        associated = header + aad + bytes([final])
        try:
            # A fresh bytes object per chunk: consumers may keep what they were given.
            chunk = aead.decrypt(_nonce(prefix, index), sealed[:size], associated)
        except InvalidTag:
            raise DecryptionError("Encrypted stream failed authentication.") from None
        if final:
            if src.read(1):
                raise DecryptionError("Data after the end of the encrypted stream.")
            if chunk:
                yield chunk
            return
        yield chunk
        index += 1


def stream_key_id(src: BinaryIO) -> str:
    """Id of the key an encrypted stream is under (read from its header; for rotation)."""
    fixed = _read_exact(src, len(STREAM_MAGIC) + 2)
    if len(fixed) < len(STREAM_MAGIC) + 2 or not fixed.startswith(STREAM_MAGIC):
        raise DecryptionError("Not an encrypted stream.")
    kid = _read_exact(src, fixed[-1]).decode("ascii", errors="replace")
    if not KEY_ID_RE.fullmatch(kid):
        raise DecryptionError("Malformed encrypted stream header.")
    return kid


def decrypt_stream(
    src: BinaryIO, dst: BinaryIO, *, key_lookup: KeyLookup | None = None, aad: bytes = b""
) -> int:
    """Decrypt src into dst; return plaintext bytes written. Discard dst if this raises."""
    written = 0
    for chunk in iter_decrypt(src, key_lookup=key_lookup, aad=aad):
        dst.write(chunk)
        written += len(chunk)
    return written
