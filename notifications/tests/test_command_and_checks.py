"""The worker as systemd runs it (--loop until SIGTERM), its arguments, and the system checks."""

import os
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from notifications.checks import check_notification_backends
from notifications.models import Notification, Status
from notifications.tests.factories import enqueue


def check_ids() -> list[str]:
    return [message.id for message in check_notification_backends(None)]


@pytest.mark.skipif(
    connection.vendor != "postgresql" and not os.environ.get("CI"),
    reason="the worker process needs the test database on a server (PostgreSQL in CI)",
)
@pytest.mark.django_db(transaction=True)
def test_the_looping_worker_sends_then_stops_cleanly_on_sigterm(tmp_path):
    notification = enqueue(address="loop.worker@example.tn", dedupe_key="loop:1")
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
            f"{database['PORT']}/{database['NAME']}"
        ),
        # The development e-mail backend prints each message on standard output.
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    }
    worker = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "manage.py", "run_notifications", "--loop", "--interval", "0.2"],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # a bound for a slow CI machine, not a measurement
        while time.monotonic() < deadline:
            notification.refresh_from_db(fields=["status"])
            if notification.status == Status.SENT or worker.poll() is not None:
                break
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        worker.kill()

    assert worker.returncode == 0, err
    assert notification.status == Status.SENT
    assert "To: loop.worker@example.tn" in out
    assert "Content-Language: fr" in out
    assert "sent 1, to retry 0, failed 0" in out
    assert out.rstrip().endswith("Stopped.")
    assert Notification.objects.get(pk=notification.pk).deliveries.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "0"], "--interval must be positive."),
        (["--limit", "0"], "--limit must be at least 1."),
    ],
)
def test_bad_worker_arguments_are_refused(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("run_notifications", *args, stdout=StringIO())


def test_the_default_configuration_passes_the_checks():
    assert check_ids() == []


def test_an_sms_backend_that_is_not_a_gateway_is_an_error(settings):
    settings.SMS_BACKEND = "notifications.models.Notification"
    assert check_ids() == ["notifications.E001"]
    settings.SMS_BACKEND = "notifications.sms.NoSuchBackend"
    assert check_ids() == ["notifications.E001"]


def test_max_attempts_below_one_is_an_error(settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 0
    assert check_ids() == ["notifications.E002"]


def test_production_refuses_backends_that_write_messages_in_clear(settings):
    settings.ENVIRONMENT = "production"
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.SMS_BACKEND = "notifications.sms.FileSmsBackend"
    assert check_ids() == ["notifications.E003", "notifications.E003"]

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.SMS_BACKEND = "notifications.sms.UnconfiguredSmsBackend"
    assert check_ids() == []
