"""A file storage that keeps uploads as authenticated AES-256-GCM streams under random names.

Files are never reachable by URL: they are read back, decrypted as a stream with bounded memory,
only through authorised API views. The original name and content type live, encrypted, in the
database (privacy.models.StoredFile).
"""

import io
import os
import tempfile
import uuid

from django.core.files import File
from django.core.files.storage import FileSystemStorage, storages
from django.utils.deconstruct import deconstructible

from privacy.crypto import encrypt_stream, iter_decrypt, stream_key_id


class DecryptingReader(io.RawIOBase):
    """A read-only file object over an encrypted stream; a tampered stream raises on read."""

    def __init__(self, raw, *, aad: bytes):
        self._raw = raw
        self._chunks = iter_decrypt(raw, aad=aad)
        self._buffer = memoryview(b"")

    def readable(self):
        return True

    def readinto(self, target):
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = memoryview(chunk)
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]  # a view: no copy of the rest of the chunk
        return size

    def close(self):
        self._raw.close()
        super().close()


@deconstructible
class EncryptedFileSystemStorage(FileSystemStorage):
    def __init__(self, location=None, **kwargs):
        super().__init__(location=location, base_url=None, **kwargs)

    @staticmethod
    def _aad(name: str) -> bytes:
        # Binds the ciphertext to its file name: swapping two files on disk fails to decrypt.
        return f"privacy.file:{name}".encode()

    def get_available_name(self, name, max_length=None):
        """Always a fresh random name: the given one (often personal data) is not used on disk."""
        token = uuid.uuid4().hex
        return f"{token[:2]}/{token}.enc"

    def _write(self, name, content, *, replace: bool) -> None:
        """Encrypt `content` into a temporary file next to `name`, then move it into place."""
        path = self.path(name)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                encrypt_stream(content, out, aad=self._aad(name))
                out.flush()
                os.fsync(out.fileno())
            if replace:
                os.replace(tmp, path)
            else:
                os.link(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _save(self, name, content):
        content.seek(0)
        self._write(name, content, replace=False)
        return name

    def key_id(self, name) -> str:
        """Id of the key a stored file is encrypted under."""
        with open(self.path(name), "rb") as raw:
            return stream_key_id(raw)

    def reencrypt(self, name) -> None:
        """Rewrite a stored file under the active key (files never change, so this is safe)."""
        with self._open(name) as plaintext:
            self._write(name, plaintext, replace=True)

    def _open(self, name, mode="rb"):
        if mode not in ("r", "rb"):
            raise ValueError("Encrypted files are read-only once stored.")
        raw = open(self.path(name), "rb")  # noqa: SIM115 - closed by DecryptingReader.close
        return File(io.BufferedReader(DecryptingReader(raw, aad=self._aad(name))), name=name)

    def iter_plaintext(self, name):
        """Yield the decrypted content chunk by chunk (for streaming responses)."""
        with open(self.path(name), "rb") as raw:
            yield from iter_decrypt(raw, aad=self._aad(name))

    def url(self, name):
        raise ValueError("Encrypted files have no URL: serve them through an authorised view.")


def encrypted_storage():
    """The project's encrypted storage (STORAGES["encrypted"]), for FileField(storage=...)."""
    return storages["encrypted"]
