"""No personal data in clear: not in the outbox tables, not in logs, not in the admin; export,
erasure and retention through the privacy registry."""

import json
import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.tests.mfa_helpers import enrol_totp, totp_code
from notifications.models import Delivery, Notification, Status
from notifications.services import notification_deliver_due
from notifications.tests.factories import breach_context, enqueue
from privacy.tests.people import api_login, bearer_client

pytestmark = pytest.mark.django_db

ADDRESS = "leila.gharbi.secret@exemple-prive.tn"
PHONE = "+21655443322"
CONTEXT = breach_context(
    incident_reference="INC-SCAN-77",
    data_categories=["Numero de carte grise 4455-SECRET"],
    measures=["Revocation des sessions de Leila-SECRET"],
    recommended_actions=["Surveillez le compte Gharbi-SECRET"],
    contact="dpo-scan@garage-ecar.tn",
)


def plaintexts() -> list[str]:
    return [
        *(ADDRESS, PHONE, PHONE[4:], "leila.gharbi", "INC-SCAN-77", "dpo-scan"),
        *("4455-SECRET", "Leila-SECRET", "Gharbi-SECRET", "Numero de carte"),
    ]


def raw_rows(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        return [str(value) for row in cursor.fetchall() for value in row]


def enqueue_secrets(**overrides):
    email = enqueue(
        address=ADDRESS,
        context=CONTEXT,
        dedupe_key="incident:77:user:5:email",
        recipient_ref="user:5",
        **overrides,
    )
    sms = enqueue(
        channel="sms",
        address=PHONE,
        context=CONTEXT,
        language="ar",
        dedupe_key="incident:77:user:5:sms",
        recipient_ref="user:5",
        **overrides,
    )
    return email, sms


def test_the_outbox_tables_hold_no_address_or_context_in_clear(unreachable_smtp):
    email, sms = enqueue_secrets()
    notification_deliver_due()  # a failed e-mail attempt and a sent SMS: both recorded

    stored = raw_rows(Notification._meta.db_table) + raw_rows(Delivery._meta.db_table)

    assert Delivery.objects.count() == 2
    assert [value for value in plaintexts() if any(value in cell for cell in stored)] == []
    # The columns hold ciphertext that decrypts back to the values.
    assert Notification.objects.get(pk=email.pk).address == ADDRESS
    assert Notification.objects.get(pk=sms.pk).context == CONTEXT


def test_logs_name_notification_ids_only(
    caplog, settings, tmp_path, unreachable_smtp, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    (tmp_path / "blocked").write_text("")
    settings.SMS_FILE_PATH = str(tmp_path / "blocked")  # the SMS fails too
    with django_capture_on_commit_callbacks(execute=True):
        email, sms = enqueue_secrets()
    notification_deliver_due()
    notification_deliver_due()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        sent = enqueue(address=ADDRESS, context=CONTEXT, dedupe_key="incident:77:user:5:again")
    notification_deliver_due()

    logged = caplog.text
    assert f"notification {email.pk} enqueued" in logged
    assert f"notification {email.pk} attempt 1 failed, retried later" in logged
    assert f"notification {sms.pk} failed for good (attempt 2)" in logged
    assert f"notification {sent.pk} sent (attempt 1)" in logged
    assert [value for value in plaintexts() if value in logged] == []


def test_a_users_export_lists_their_notifications_and_erasure_deletes_them(make_user):
    person = make_user("leila", role="customer")
    other = make_user("omar", role="customer")
    ref = f"user:{person.pk}"
    mine = enqueue(address=ADDRESS, context=CONTEXT, recipient_ref=ref, dedupe_key="mine")
    notification_deliver_due()
    theirs = enqueue(recipient_ref=f"user:{other.pk}", dedupe_key="theirs")
    client = bearer_client(api_login("leila")["access"])

    response = client.get("/api/download_user_data/")
    body = json.loads(b"".join(response.streaming_content))
    [exported] = body["sections"]["notifications"]
    erased = client.post("/api/delete_user_data/")

    assert exported["id"] == mine.pk
    assert (exported["address"], exported["context"]) == (ADDRESS, CONTEXT)
    assert exported["status"] == "sent"
    assert [d["outcome"] for d in exported["deliveries"]] == ["sent"]
    assert erased.status_code == 200, erased.content
    assert erased.json()["erased"]["notifications"] == 1
    assert not Notification.objects.filter(recipient_ref=ref).exists()
    assert not Delivery.objects.filter(notification_id=mine.pk).exists()
    assert Notification.objects.filter(pk=theirs.pk).exists()


def test_enforce_retention_purges_finished_messages_past_their_retention(settings):
    settings.NOTIFICATIONS_RETENTION_DAYS = 30
    old_sent = enqueue(dedupe_key="old-sent")
    old_pending = enqueue(dedupe_key="old-pending", address="later@example.tn")
    Notification.objects.filter(pk=old_pending.pk).update(
        next_attempt_at=timezone.now() + timedelta(days=1)
    )
    notification_deliver_due()
    recent_sent = enqueue(dedupe_key="recent-sent")
    notification_deliver_due()
    long_ago = timezone.now() - timedelta(days=31)
    Notification.objects.filter(pk__in=[old_sent.pk, old_pending.pk]).update(created_at=long_ago)
    Notification.objects.filter(pk=old_sent.pk).update(finished_at=long_ago)

    call_command("enforce_retention", "--dry-run", stdout=(dry := StringIO()))
    call_command("enforce_retention", stdout=(done := StringIO()))

    assert "notifications: would remove 1" in dry.getvalue()
    assert "notifications: removed 1" in done.getvalue()
    assert set(Notification.objects.values_list("pk", flat=True)) == {
        old_pending.pk,
        recent_sent.pk,
    }
    assert not Delivery.objects.filter(notification_id=old_sent.pk).exists()
    assert len(mail.outbox) == 2


@pytest.fixture
def admin_site_client(client, super_admin, password):
    super_admin.is_staff = True
    super_admin.save(update_fields=["is_staff"])
    device = enrol_totp(super_admin)
    token = totp_code(device)
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": super_admin.username,
            "password": password,
            "otp_token": token,
        },
    )
    assert response.status_code == 302
    return client


def test_the_admin_lists_notifications_and_deliveries_read_only_without_their_content(
    admin_site_client, unreachable_smtp
):
    email, _ = enqueue_secrets()
    notification_deliver_due()
    delivery = Delivery.objects.filter(notification=email).get()

    pages = [
        admin_site_client.get("/admin/notifications/notification/"),
        admin_site_client.get(f"/admin/notifications/notification/{email.pk}/change/"),
        admin_site_client.get("/admin/notifications/delivery/"),
        admin_site_client.get(f"/admin/notifications/delivery/{delivery.pk}/change/"),
    ]
    changed = admin_site_client.post(
        f"/admin/notifications/notification/{email.pk}/change/", {"status": "sent"}
    )
    deleted = admin_site_client.post(
        f"/admin/notifications/notification/{email.pk}/delete/", {"post": "yes"}
    )

    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    html = b"".join(page.content for page in pages).decode()
    assert "incident:77:user:5:email" in html
    assert "builtins.ConnectionRefusedError" in html
    assert [value for value in plaintexts() if value in html] == []
    assert b'name="_save"' not in pages[1].content
    assert (changed.status_code, deleted.status_code) == (403, 403)
    assert admin_site_client.get("/admin/notifications/notification/add/").status_code == 403
    assert Notification.objects.get(pk=email.pk).status == Status.PENDING
