"""notification_enqueue: validation, normal forms, deduplication, the caller's transaction."""

import threading
import time

import pytest
from django.db import connection, transaction

from notifications.errors import NotificationError
from notifications.models import Notification, Status
from notifications.services import notification_enqueue
from notifications.tests.factories import breach_context, enqueue, reminder_context

pytestmark = pytest.mark.django_db


def test_enqueue_writes_a_pending_row():
    notification = enqueue(recipient_ref="user:42", dedupe_key="incident:7:user:42:email")

    stored = Notification.objects.get(pk=notification.pk)
    assert stored.status == Status.PENDING
    assert (stored.template, stored.language, stored.channel) == ("breach_notice", "fr", "email")
    assert stored.address == "amel.bensalah@example.tn"
    assert stored.context == breach_context()
    assert stored.recipient_ref == "user:42"
    assert stored.attempts == 0
    assert stored.deliveries.count() == 0


def test_the_same_dedupe_key_twice_returns_the_first_row():
    first = enqueue(dedupe_key="incident:7:user:42:email")
    second = enqueue(
        dedupe_key="incident:7:user:42:email", language="ar", address="other@example.tn"
    )

    assert second.pk == first.pk
    assert Notification.objects.count() == 1
    assert Notification.objects.get().language == "fr"


def test_a_phone_number_is_stored_in_e164():
    notification = enqueue(channel="sms", address="20 123 456")

    assert Notification.objects.get(pk=notification.pk).address == "+21620123456"


@pytest.mark.parametrize(
    ("given", "stored"), [("fr", "fr"), ("AR", "ar"), ("fr-TN", "fr"), ("ar_TN", "ar"), ("", "fr")]
)
def test_regional_tags_count_as_their_language_and_empty_is_french(given, stored):
    assert enqueue(language=given).language == stored


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"language": "de"}, "unknown_language"),
        ({"template": "newsletter"}, "unknown_template"),
        ({"channel": "fax"}, "unknown_channel"),
        ({"address": "amel.bensalah"}, "invalid_address"),
        ({"channel": "sms", "address": "12"}, "invalid_address"),
        ({"recipient_ref": "amel.bensalah@example.tn"}, "invalid_recipient_ref"),
        ({"recipient_ref": ""}, "invalid_recipient_ref"),
        ({"dedupe_key": "breach for +216 20 123 456"}, "invalid_dedupe_key"),
        ({"context": breach_context(contact="")}, "invalid_context"),
        ({"context": reminder_context()}, "invalid_context"),
        ({"context": breach_context(occurred_from="20/11/2026")}, "invalid_context"),
        ({"context": breach_context(measures="none")}, "invalid_context"),
        ({"context": ["not", "a", "dict"]}, "invalid_context"),
        ({"language": None}, "invalid_argument"),
        ({"template": ["breach_notice"]}, "invalid_argument"),
        ({"address": 21620123456}, "invalid_argument"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(overrides, code):
    with pytest.raises(NotificationError) as raised:
        enqueue(**overrides)

    assert raised.value.code == code
    assert Notification.objects.count() == 0


def test_errors_name_the_problem_never_the_address_or_the_values():
    with pytest.raises(NotificationError) as bad_address:
        enqueue(address="amel.bensalah at example.tn")
    context = breach_context(contact="", occurred_to="bientôt")
    del context["measures"]
    context["phone"] = "+21620123456"
    with pytest.raises(NotificationError) as bad_context:
        enqueue(context=context)

    assert "amel" not in bad_address.value.message
    assert bad_context.value.extra["problems"] == [
        "missing key 'measures'",
        "unexpected key 'phone'",
        "'occurred_to' must be an ISO date (YYYY-MM-DD)",
        "'contact' must be a non-empty string",
    ]
    assert "+216" not in bad_context.value.message
    assert "bientôt" not in bad_context.value.message


def test_a_nullable_kilometre_reading_is_accepted_but_not_a_boolean():
    enqueue(template="service_reminder", context=reminder_context(due_km=None))

    with pytest.raises(NotificationError):
        enqueue(template="service_reminder", context=reminder_context(due_km=True))


class CallerDecisionUndone(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_rolling_back_the_callers_transaction_leaves_no_row():
    with pytest.raises(CallerDecisionUndone), transaction.atomic():
        enqueue(dedupe_key="incident:9:user:5:email")
        raise CallerDecisionUndone

    assert Notification.objects.count() == 0
    enqueue(dedupe_key="incident:9:user:5:email")  # committed with its own decision
    assert Notification.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused():
    with pytest.raises(NotificationError) as raised:
        notification_enqueue(
            template="breach_notice",
            language="fr",
            channel="email",
            address="amel.bensalah@example.tn",
            context=breach_context(),
            recipient_ref="user:1",
            dedupe_key="incident:1:user:1:email",
        )

    assert raised.value.code == "not_in_transaction"
    assert Notification.objects.count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_transactions_enqueuing_one_key_at_once_make_one_row():
    """The second insert waits on the unique index, then returns the first transaction's row.

    The first transaction stays open until PostgreSQL reports the second one waiting on a
    lock it holds, so the second enqueue cannot simply read an already committed row.
    """
    key = "incident:3:user:8:sms"
    first_inserted, release_first = threading.Event(), threading.Event()
    pids, results, errors = {}, {}, []

    def backend_pid():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    def first():
        try:
            with transaction.atomic():
                pids["first"] = backend_pid()
                results["first"] = enqueue(dedupe_key=key).pk
                first_inserted.set()
                # Uncommitted until the test thread sees the second transaction blocked on it.
                release_first.wait(30)
        except Exception as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)
        finally:
            first_inserted.set()
            connection.close()

    def second():
        try:
            pids["second"] = backend_pid()
            first_inserted.wait(30)
            results["second"] = enqueue(dedupe_key=key).pk
        except Exception as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    second_blocked_on_first = False
    try:
        first_inserted.wait(10)
        deadline = time.monotonic() + 10
        # The test connection is in autocommit: every poll reads a fresh pg_stat_activity.
        while not second_blocked_on_first and time.monotonic() < deadline and not errors:
            if "first" in pids and "second" in pids:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE pid = %s"
                        " AND wait_event_type = 'Lock' AND %s = ANY(pg_blocking_pids(pid))",
                        [pids["second"], pids["first"]],
                    )
                    second_blocked_on_first = cursor.fetchone() is not None
            if not second_blocked_on_first:
                time.sleep(0.01)
    finally:
        release_first.set()
        for thread in threads:
            thread.join(30)

    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert second_blocked_on_first, "the second enqueue never waited on the first's lock"
    assert results["first"] == results["second"]
    assert Notification.objects.filter(dedupe_key=key).count() == 1
