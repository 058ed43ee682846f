"""SMS gateways behind one small interface, chosen by the SMS_BACKEND setting (a dotted path).

A real operator's gateway is a subclass of BaseSmsBackend whose `send` posts the message and
returns the operator's message id; it raises DeliveryError when the message should be retried and
PermanentDeliveryError when it never can be delivered.
"""

import os
import sys
import uuid
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.errors import PermanentDeliveryError


class BaseSmsBackend:
    """Sends one text message and returns the gateway's message id."""

    def send(self, *, to: str, body: str, reference: str) -> str:
        """Send `body` to the E.164 number `to`; `reference` is stable across retries."""
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Development: writes each message to standard output (never in production: it is logged)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, *, to: str, body: str, reference: str) -> str:
        message_id = uuid.uuid4().hex
        self.stream.write(f"SMS {message_id} ({reference}) to {to}:\n{body}\n\n")
        self.stream.flush()
        return message_id


class FileSmsBackend(BaseSmsBackend):
    """Development and tests: one file per message in SMS_FILE_PATH (folder 0700, files 0600)."""

    def __init__(self, path=None):
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, *, to: str, body: str, reference: str) -> str:
        message_id = uuid.uuid4().hex
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(
            self.path / f"{message_id}.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
        )
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(f"To: {to}\nReference: {reference}\n\n{body}\n")
        return message_id


class UnconfiguredSmsBackend(BaseSmsBackend):
    """Where no gateway is configured: every SMS fails at once, visibly, instead of vanishing."""

    def send(self, *, to: str, body: str, reference: str) -> str:
        raise PermanentDeliveryError("No SMS gateway is configured (SMS_BACKEND).")


def get_sms_backend() -> BaseSmsBackend:
    """An instance of the configured SMS_BACKEND."""
    return import_string(settings.SMS_BACKEND)()
