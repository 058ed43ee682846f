"""E-mail over a real SMTP session: delivered, refused for good, or refused for now."""

import email
import email.policy

import pytest

from notifications.models import Outcome, Status
from notifications.services import notification_deliver_due
from notifications.tests.factories import enqueue

pytestmark = pytest.mark.django_db


def test_a_message_goes_over_smtp_with_its_text_and_right_to_left_html(smtp_server):
    notification = enqueue(language="ar", address="karim.trabelsi@example.tn")

    result = notification_deliver_due()

    assert result.sent == 1
    [raw] = smtp_server.messages
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"] == "karim.trabelsi@example.tn"
    # A long encoded subject is folded onto a continuation line: unfolded, it keeps one space.
    assert message["Subject"].strip().startswith("حادث أمني INC-2026-0042")
    assert message["Content-Language"] == "ar"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "المعطيات المعنية" in text
    assert '<html lang="ar" dir="rtl">' in html
    delivery = notification.deliveries.get()
    assert delivery.provider_message_id == message["Message-ID"]


def test_a_recipient_refused_by_the_server_fails_at_once(smtp_server):
    smtp_server.refused.add("nobody@example.tn")
    notification = enqueue(address="nobody@example.tn")

    result = notification_deliver_due()

    assert result.failed == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Status.FAILED, 1)
    delivery = notification.deliveries.get()
    assert delivery.outcome == Outcome.FAILED
    assert delivery.error_class == "smtplib.SMTPRecipientsRefused"


def test_a_temporary_refusal_is_retried(smtp_server):
    smtp_server.temporary_failure = True
    notification = enqueue()

    result = notification_deliver_due()

    assert result.retried == 1
    notification.refresh_from_db()
    assert notification.status == Status.PENDING
    assert notification.deliveries.get().error_class == "smtplib.SMTPDataError"
    assert smtp_server.messages == []
