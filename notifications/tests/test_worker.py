"""The worker: one message per person in their language, retries with backoff, recorded attempts."""

import stat
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from notifications.models import Delivery, Notification, Outcome, Status
from notifications.services import notification_deliver_due, retry_delay
from notifications.tests.conftest import sms_messages
from notifications.tests.factories import enqueue

pytestmark = pytest.mark.django_db

PEOPLE = [
    ("user:11", "fr", "email", "amel.bensalah@example.tn", "Incident de sécurité INC-2026-0042"),
    ("user:12", "ar", "email", "karim.trabelsi@example.tn", "حادث أمني INC-2026-0042"),
    ("user:13", "en", "email", "sara.jones@example.com", "Security incident INC-2026-0042"),
]


def run_worker(*args) -> str:
    out = StringIO()
    call_command("run_notifications", *args, stdout=out)
    return out.getvalue()


def test_each_person_gets_one_message_in_their_language(sms_dir):
    for ref, language, channel, address, _ in PEOPLE:
        enqueue(
            recipient_ref=ref,
            language=language,
            channel=channel,
            address=address,
            dedupe_key=f"incident:42:{ref}:{channel}",
        )
    enqueue(
        recipient_ref="user:14",
        language="ar",
        channel="sms",
        address="20 123 456",
        dedupe_key="incident:42:user:14:sms",
    )

    output = run_worker()
    again = run_worker()

    assert output.strip() == "sent 4, to retry 0, failed 0"
    assert again.strip() == "sent 0, to retry 0, failed 0"
    assert sorted(len(message.to) for message in mail.outbox) == [1, 1, 1]
    by_address = {message.to[0]: message for message in mail.outbox}
    for _, language, _, address, subject in PEOPLE:
        message = by_address[address]
        assert message.subject.startswith(subject)
        assert message.extra_headers["Content-Language"] == language
        html, mimetype = message.alternatives[0]
        assert mimetype == "text/html"
        assert f'dir="{"rtl" if language == "ar" else "ltr"}"' in html
    [sms] = sms_messages(sms_dir)
    assert sms.startswith("To: +21620123456\n")
    assert "ECAR: حادث أمني INC-2026-0042" in sms
    [sms_file] = sms_dir.iterdir()
    assert stat.S_IMODE(sms_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(sms_dir.stat().st_mode) == 0o700
    assert Notification.objects.filter(status=Status.SENT, attempts=1).count() == 4
    assert Delivery.objects.filter(outcome=Outcome.SENT).count() == 4


def test_a_delivery_records_the_attempt_and_the_message_id():
    notification = enqueue()

    run_worker()

    [message] = mail.outbox
    [delivery] = Notification.objects.get(pk=notification.pk).deliveries.all()
    assert delivery.attempt == 1
    assert delivery.channel == "email"
    assert delivery.outcome == Outcome.SENT
    assert delivery.provider_message_id == message.extra_headers["Message-ID"]
    assert delivery.error_class == ""
    notification.refresh_from_db()
    assert notification.sent_at == notification.finished_at == delivery.attempted_at


def test_an_unreachable_mail_server_is_retried_later_with_backoff(settings, unreachable_smtp):
    notification = enqueue()
    before = timezone.now()

    first = run_worker()
    notification.refresh_from_db()

    assert first.strip() == "sent 0, to retry 1, failed 0"
    assert notification.status == Status.PENDING
    assert notification.attempts == 1
    assert notification.next_attempt_at >= before + timedelta(
        seconds=settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    )
    [failed] = notification.deliveries.all()
    assert failed.outcome == Outcome.RETRY
    assert failed.error_class == "builtins.ConnectionRefusedError"

    # Not due yet: the next pass leaves it alone.
    assert run_worker().strip() == "sent 0, to retry 0, failed 0"

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=timezone.now())
    assert run_worker().strip() == "sent 1, to retry 0, failed 0"

    notification.refresh_from_db()
    assert notification.status == Status.SENT
    assert [d.outcome for d in notification.deliveries.all()] == [Outcome.RETRY, Outcome.SENT]
    assert [d.attempt for d in notification.deliveries.all()] == [1, 2]
    assert len(mail.outbox) == 1


def test_a_failing_sms_gateway_is_retried_then_marked_failed(settings, tmp_path):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    settings.SMS_FILE_PATH = str(blocked)  # every write fails: its parent is a file
    notification = enqueue(channel="sms", address="+21698765432")

    outputs = [run_worker().strip() for _ in range(4)]

    assert outputs == [
        "sent 0, to retry 1, failed 0",
        "sent 0, to retry 1, failed 0",
        "sent 0, to retry 0, failed 1",
        "sent 0, to retry 0, failed 0",
    ]
    notification.refresh_from_db()
    assert notification.status == Status.FAILED
    assert notification.attempts == 3
    assert notification.finished_at is not None
    deliveries = list(notification.deliveries.all())
    assert [d.outcome for d in deliveries] == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED]
    assert {d.error_class for d in deliveries} == {"builtins.FileExistsError"}


def test_without_an_sms_gateway_an_sms_fails_at_once(settings):
    settings.SMS_BACKEND = "notifications.sms.UnconfiguredSmsBackend"
    notification = enqueue(channel="sms", address="+21698765432")

    run_worker()

    notification.refresh_from_db()
    assert notification.status == Status.FAILED
    [delivery] = notification.deliveries.all()
    assert delivery.error_class == "notifications.errors.PermanentDeliveryError"


def test_a_row_that_no_longer_decrypts_fails_without_stopping_the_others():
    broken = enqueue(dedupe_key="broken")
    enqueue(dedupe_key="fine", address="karim.trabelsi@example.tn")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notifications_notification SET context = address WHERE id = %s", [broken.pk]
        )

    result = notification_deliver_due()

    assert (result.sent, result.failed) == (1, 1)
    assert [m.to for m in mail.outbox] == [["karim.trabelsi@example.tn"]]
    broken.refresh_from_db(fields=["status"])
    assert broken.status == Status.FAILED
    assert broken.deliveries.get().error_class == "privacy.fields.EncryptedFieldError"


def test_the_backoff_doubles_and_is_capped(settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 3600

    assert [retry_delay(n).total_seconds() for n in range(1, 8)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]


def test_a_pass_stops_at_its_limit():
    for n in range(3):
        enqueue(dedupe_key=f"limit:{n}")

    assert run_worker("--limit", "2").strip() == "sent 2, to retry 0, failed 0"
    assert Notification.objects.filter(status=Status.PENDING).count() == 1


def test_an_operator_requeues_a_failed_message_which_then_goes_out(settings):
    settings.SMS_BACKEND = "notifications.sms.UnconfiguredSmsBackend"
    failed = enqueue(channel="sms", address="+21698765432", dedupe_key="requeue:sms")
    pending = enqueue(dedupe_key="requeue:pending")
    Notification.objects.filter(pk=pending.pk).update(next_attempt_at=timezone.now() + timedelta(1))
    run_worker()
    settings.SMS_BACKEND = "notifications.sms.FileSmsBackend"  # the gateway is now configured

    output = run_worker("--requeue", str(failed.pk), str(pending.pk))
    sent = run_worker()

    assert output.strip() == "requeued 1 of 2"
    assert sent.strip() == "sent 1, to retry 0, failed 0"
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.SENT, 1)
    deliveries = list(failed.deliveries.all())
    assert [(d.attempt, d.outcome) for d in deliveries] == [(1, Outcome.FAILED), (2, Outcome.SENT)]
    assert Notification.objects.get(pk=pending.pk).status == Status.PENDING
