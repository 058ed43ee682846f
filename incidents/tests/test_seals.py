"""verify_audit catches records changed, removed or inserted straight in SQL; deliberate
rewrites (erasure, retention, a deleted user) are re-sealed and recorded."""

import io
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.models import AuthEvent, User
from garage.models import Customer
from incidents.models import SealEntry, SealEvent, SecurityAlert
from privacy.models import AccessRecord

pytestmark = pytest.mark.django_db


def _traffic(api_client, customer, admin_user, client_for):
    """Auth events, an access record and audit entries, made through the API."""
    api_client.post("/api/login/", {"username": customer.username, "password": "wrong"})
    admin = client_for(admin_user)
    response = admin.get(f"/api/customers/{customer.customer.pk}/")
    assert response.status_code == 200
    response = admin.patch(f"/api/customers/{customer.customer.pk}/", {"address": "3 rue Neuve"})
    assert response.status_code == 200, response.content


@pytest.fixture
def sealed(api_client, make_customer, admin_user, auth_client, run_detectors):
    customer = make_customer("sealcust")
    _traffic(api_client, customer, admin_user, auth_client)
    run_detectors()
    assert AuthEvent.objects.count() >= 2
    assert AccessRecord.objects.count() >= 1
    assert LogEntry.objects.count() >= 1
    return customer


def _sql(statement: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_sealed_records_verify(sealed, verify_audit):
    ok, out, _ = verify_audit()
    assert ok, out
    assert "audit seals intact" in out
    assert SealEntry.objects.filter(stream="auth_events").count() == AuthEvent.objects.count()


def test_an_update_in_sql_is_caught_and_named(sealed, verify_audit):
    event = AuthEvent.objects.order_by("id").first()
    _sql("UPDATE accounts_authevent SET ip = %s WHERE id = %s", ["203.0.113.66", event.pk])

    ok, _, err = verify_audit()

    assert not ok
    assert f"first: auth_events record {event.pk} was changed" in err
    alert = SecurityAlert.objects.get(detector="audit_tampering")
    assert alert.severity == "high"
    assert alert.evidence["first_record_id"] == event.pk


def test_a_delete_in_sql_is_caught_and_named(sealed, verify_audit):
    record = AccessRecord.objects.order_by("id").first()
    _sql("DELETE FROM privacy_accessrecord WHERE id = %s", [record.pk])

    ok, _, err = verify_audit()

    assert not ok
    assert f"access_records record {record.pk} was removed" in err


def test_an_insert_in_sql_is_caught_and_named(sealed, verify_audit):
    entry = LogEntry.objects.order_by("id").first()
    backdated = timezone.now() - timedelta(hours=2)
    _sql(
        "INSERT INTO auditlog_logentry (content_type_id, object_pk, object_repr, action, "
        "changes_text, timestamp) VALUES (%s, %s, %s, %s, %s, %s)",
        [entry.content_type_id, entry.object_pk, "forged", 1, "", backdated],
    )
    forged = LogEntry.objects.get(object_repr="forged")

    ok, _, err = verify_audit()

    assert not ok
    assert f"audit_log record {forged.pk} was inserted" in err


def test_deleting_a_record_with_its_seal_is_caught(sealed, verify_audit):
    event = AuthEvent.objects.order_by("id").last()
    seal = SealEntry.objects.get(stream="auth_events", record_id=event.pk)
    _sql("DELETE FROM accounts_authevent WHERE id = %s", [event.pk])
    _sql("DELETE FROM incidents_sealentry WHERE id = %s", [seal.pk])

    ok, _, err = verify_audit()

    assert not ok
    assert f"auth_events: the record at seal position {seal.seq} was removed" in err


def test_a_forged_seal_is_caught(sealed, verify_audit):
    event = AuthEvent.objects.order_by("id").first()
    _sql("UPDATE accounts_authevent SET ip = %s WHERE id = %s", ["203.0.113.66", event.pk])
    _sql(
        "UPDATE incidents_sealentry SET mac = %s WHERE stream = 'auth_events' AND record_id = %s",
        ["0" * 64, event.pk],
    )

    ok, _, err = verify_audit()

    assert not ok
    assert f"auth_events record {event.pk} was changed" in err


def test_bulk_created_records_are_sealed_too(sealed, run_detectors, verify_audit):
    rows = AuthEvent.objects.bulk_create(
        [AuthEvent(kind=AuthEvent.Kind.LOGIN_FAILED, ip="192.0.2.1") for _ in range(3)]
    )
    run_detectors()
    assert (
        SealEntry.objects.filter(stream="auth_events", record_id__in=[r.pk for r in rows]).count()
        == 3
    )
    _sql("UPDATE accounts_authevent SET ip = '192.0.2.2' WHERE id = %s", [rows[1].pk])

    ok, _, err = verify_audit()

    assert not ok and f"auth_events record {rows[1].pk} was changed" in err


def test_erasure_re_seals_what_it_scrubs(sealed, auth_client, verify_audit):
    customer = sealed
    response = auth_client(customer).post("/api/delete_user_data/")
    assert response.status_code == 200, response.content

    ok, _, err = verify_audit()

    assert ok, err
    kinds = set(SealEvent.objects.values_list("kind", "stream"))
    assert ("erasure", "auth_events") in kinds
    assert ("erasure", "audit_log") in kinds


def test_retention_re_seals_what_it_purges(sealed, verify_audit, run_detectors):
    old = timezone.now() - timedelta(days=400)
    AuthEvent.objects.all().update(created_at=old)
    AccessRecord.objects.all().update(created_at=old)
    LogEntry.objects.all().update(timestamp=old)
    # The rows were rewritten by the test itself: accept them as they are now.
    ok, _, _ = verify_audit("--accept", "test: records aged")
    assert ok
    run_detectors()
    recent = AuthEvent.objects.create(kind=AuthEvent.Kind.LOGIN_FAILED, ip="192.0.2.9")
    run_detectors()

    call_command("enforce_retention", stdout=io.StringIO())

    assert list(AuthEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    ok, _, err = verify_audit()
    assert ok, err
    assert SealEvent.objects.filter(kind="retention", stream="auth_events").exists()
    assert SealEntry.objects.filter(stream="auth_events").count() == 1


def test_deleting_a_user_re_seals_their_records(sealed, verify_audit):
    customer = sealed
    events = list(AuthEvent.objects.filter(user=customer).values_list("pk", flat=True))
    assert events
    Customer.objects.filter(user=customer).update(user=None)
    User.objects.get(pk=customer.pk).delete()

    ok, _, err = verify_audit()

    assert ok, err
    assert not AuthEvent.objects.filter(pk__in=events, user__isnull=False).exists()
    assert SealEvent.objects.filter(kind="user_deleted", stream="auth_events").exists()


def test_accept_re_seals_after_an_investigated_break(sealed, verify_audit):
    event = AuthEvent.objects.order_by("id").first()
    _sql("UPDATE accounts_authevent SET ip = %s WHERE id = %s", ["203.0.113.66", event.pk])
    assert not verify_audit()[0]

    ok, out, _ = verify_audit("--accept", "INC-2026-00001: row restored from backup")

    assert ok, out
    assert verify_audit()[0]
    assert (
        SealEvent.objects.filter(
            kind="manual", reason="INC-2026-00001: row restored from backup"
        ).count()
        == 3
    )


def test_a_forged_head_is_caught_and_no_re_seal_launders_it(sealed, auth_client, verify_audit):
    _sql(
        "UPDATE incidents_sealhead SET sealed_until = %s, mac = '' WHERE stream = 'auth_events'",
        [timezone.now() - timedelta(days=30)],
    )
    assert auth_client(sealed).post("/api/delete_user_data/").status_code == 200

    ok, _, err = verify_audit()

    assert not ok
    assert "auth_events: the seal head was altered" in err
