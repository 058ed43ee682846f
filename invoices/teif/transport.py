"""How signed TEIF files reach TTN: a small interface, and the folder (outbox) backend.

TTN offers two channels: the El Fatoora web portal, where a company uploads its signed files and
downloads TTN's answers, and a web service for registered software. Only the portal can be used
from here, so the shipped backend writes each signed file into an outbox folder for upload; the
answer (TTN reference, QR code content or the returned signed file) comes back through the admin
action "Record TTN's answer" or `POST /api/invoices/{id}/teif/answer/`.

A web-service backend implements `Transport.send` (submit the file, return TTN's submission id)
and is returned by `invoices.services.einvoicing.transport()`; its answers then go through the
same services (`einvoice_accept` / `einvoice_reject`). None ships: it cannot be tested against
TTN from here.
"""

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class Transport(Protocol):
    """Sends one signed TEIF file; returns a note of where it went (no personal data)."""

    def send(self, *, name: str, content: bytes) -> str: ...


class OutboxTransport:
    """Writes each signed file into a folder, for upload on the El Fatoora portal."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def send(self, *, name: str, content: bytes) -> str:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self.folder / f"{_UNSAFE.sub('_', name)}.xml"
        # Written under a temporary name then renamed: the folder never shows half a file.
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return f"outbox:{target.name}"
