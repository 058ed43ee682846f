"""Fixtures of the notifications tests: a private SMS folder, and a port nobody listens on."""

import socket
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def sms_dir(settings, tmp_path) -> Path:
    """The file SMS backend writes into this test's own folder."""
    settings.SMS_BACKEND = "notifications.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    return tmp_path / "sms"


@pytest.fixture
def closed_port() -> int:
    """A local TCP port with no server: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unreachable_smtp(settings, closed_port):
    """Django's SMTP backend pointed at a port where no mail server listens."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port
    settings.EMAIL_TIMEOUT = 5


def sms_messages(folder: Path) -> list[str]:
    """The text of every SMS the file backend wrote, oldest name first."""
    if not folder.exists():
        return []
    return [path.read_text(encoding="utf-8") for path in sorted(folder.iterdir())]


@pytest.fixture
def smtp_server(settings):
    """Django's SMTP backend talking to a local SMTP server; its mailbox."""
    from notifications.tests.smtp_server import SmtpServer

    server = SmtpServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_TIMEOUT = 10
    yield server.mailbox
    server.stop()
