"""Several workers at once (threads with their own PostgreSQL connections) never send twice."""

import os
import threading
from collections import Counter

import pytest
from django.core import mail
from django.db import connection

from notifications.models import Delivery, Notification, Status
from notifications.services import notification_deliver_due
from notifications.tests.backends import GatedSmsBackend
from notifications.tests.conftest import sms_messages
from notifications.tests.factories import enqueue

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql" and not os.environ.get("CI"),
        reason="row locks (SKIP LOCKED) need PostgreSQL; CI runs on it",
    ),
]


class Worker(threading.Thread):
    """One pass of the worker in its own thread, hence on its own database connection."""

    def __init__(self, name):
        super().__init__(name=name, daemon=True)
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = notification_deliver_due()
        except Exception as exc:  # noqa: BLE001 - reported to the test thread
            self.error = exc
        finally:
            connection.close()


@pytest.fixture
def gated_sms(settings):
    settings.SMS_BACKEND = "notifications.tests.backends.GatedSmsBackend"
    GatedSmsBackend.reset()
    yield GatedSmsBackend
    GatedSmsBackend.release.set()


def test_a_message_being_sent_by_one_worker_is_skipped_by_the_other(gated_sms, sms_dir):
    for n in range(5):
        enqueue(channel="sms", address=f"+2162012340{n}", dedupe_key=f"incident:1:user:{n}:sms")

    first = Worker("first")
    first.start()
    assert gated_sms.first_started.wait(30), "the first worker never started sending"
    # The first worker holds the row of the message it is sending; the second does a whole pass.
    second = Worker("second")
    second.start()
    second.join(30)
    finished_while_first_was_sending = not second.is_alive()
    gated_sms.release.set()
    first.join(30)

    assert finished_while_first_was_sending
    assert (first.error, second.error) == (None, None)
    assert (first.result.sent, second.result.sent) == (1, 4)
    senders = Counter(name for name, _ in gated_sms.calls)
    assert senders == {"first": 1, "second": 4}
    references = [reference for _, reference in gated_sms.calls]
    assert len(set(references)) == 5
    assert len(sms_messages(sms_dir)) == 5
    assert Delivery.objects.count() == 5
    assert Notification.objects.filter(status=Status.SENT, attempts=1).count() == 5


def test_two_workers_racing_over_the_outbox_send_each_message_once():
    for n in range(30):
        enqueue(address=f"person{n}@example.tn", dedupe_key=f"incident:2:user:{n}:email")
    start = threading.Barrier(2)

    class RacingWorker(Worker):
        def run(self):
            start.wait(30)
            super().run()

    workers = [RacingWorker("a"), RacingWorker("b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    assert [worker.error for worker in workers] == [None, None]
    assert sum(worker.result.sent for worker in workers) == 30
    recipients = Counter(message.to[0] for message in mail.outbox)
    assert len(recipients) == 30
    assert set(recipients.values()) == {1}
    assert Delivery.objects.count() == 30
    assert Notification.objects.filter(status=Status.SENT, attempts=1).count() == 30
