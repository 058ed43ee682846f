"""Erasure: POST /api/delete_user_data/ (fresh login or password) and the super-admins' erase."""

import json
import os
from dataclasses import replace
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from rest_framework.test import APIClient

from accounts.models import AuthEvent, Profile, Role, User
from garage.models import (
    Appointment,
    AppointmentSlot,
    Customer,
    OdometerReading,
    ServiceOrder,
    Vehicle,
    VehicleDocument,
)
from garage.services import orders as order_services
from garage.tests.order_helpers import order_with_lines, technician_user
from invoices.models import CreditNote, Invoice
from privacy.erasure import ERASED, ledger_read
from privacy.models import AccessRecord, Consent, ErasureLedgerEntry, StoredFile
from privacy.registry import registry
from privacy.tests.people import (
    PASSWORD,
    bearer_client,
    blind_indexes_of,
    ciphertexts_of,
    database_occurrences,
    logged_in_client,
    own_ledger,
    rich_person,
    stale_access_token,
    stored_file_paths,
)

pytestmark = pytest.mark.django_db

DELETE = "/api/delete_user_data/"
ALICE_IP = "198.51.100.21"
BOB_IP = "198.51.100.52"


def erase_url(user) -> str:
    return f"/api/users/{user.pk}/erase/"


def curl_delete(client):
    """`curl -X POST -H "Authorization: Bearer <access>" .../api/delete_user_data/`: no body."""
    return client.generic("POST", DELETE)


@pytest.fixture(autouse=True)
def ledger_file(settings, tmp_path):
    return own_ledger(settings, tmp_path)


@pytest.fixture
def admin(make_user):
    return make_user("frontdesk", Role.SUPER_ADMIN)


@pytest.fixture
def admin_client(admin):
    return logged_in_client(admin)


@pytest.fixture
def alice(admin, admin_client):
    return rich_person(1, "amel", admin=admin, admin_client=admin_client, ip=ALICE_IP)


@pytest.fixture
def bob(admin, admin_client):
    return rich_person(2, "bilel", admin=admin, admin_client=admin_client, ip=BOB_IP)


def plaintexts(person) -> list[str]:
    """Every identifying value of the person."""
    return list(person.values.values())


def assert_erased(user) -> None:
    user.refresh_from_db()
    assert not user.is_active
    assert not user.has_usable_password()
    assert not Profile.objects.filter(user=user).exists()
    assert not Customer.objects.filter(user=user).exists()
    assert ErasureLedgerEntry.objects.filter(user_id=user.pk).exists()


def assert_not_erased(person) -> None:
    person.user.refresh_from_db()
    assert person.user.is_active
    assert person.user.username == person.values["username"]
    assert Profile.objects.get(user=person.user).email == person.values["profile_email"]
    assert Customer.objects.get(user=person.user).phone == person.values["customer_phone"]
    assert not ErasureLedgerEntry.objects.filter(user_id=person.user.pk).exists()


# --- Fresh authentication ----------------------------------------------------------------------


def test_delete_with_the_readme_curl_right_after_login_erases_and_summarises(alice):
    response = curl_delete(bearer_client(alice.tokens["access"], ip=alice.ip))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["already_erased"] is False
    assert body["erased"]["account"] == 1
    assert body["erased"]["contact_details"] == 1
    assert body["erased"]["customer"] == 1
    assert body["erased"]["vehicles"] == 2
    assert body["erased"]["documents"] == 2
    assert body["erased"]["appointments"] == 1
    assert body["erased"]["service_orders"] == 2
    assert body["erased"]["consents"] == 2
    assert body["erased"]["auth_events"] >= 2  # the failed and the successful login
    assert body["erased"]["access_log"] >= 1  # the front desk's read of the record
    assert body["retained"]["service_orders"]["count"] == 2
    assert "personal data" in body["retained"]["service_orders"]["reason"]
    # The invoice and its credit note stay: legal retention of 10 years.
    assert body["retained"]["invoices"]["count"] == 1
    assert body["retained"]["credit_notes"]["count"] == 1
    assert "10 years" in body["retained"]["invoices"]["reason"]
    assert set(body["retained"]) == {"service_orders", "invoices", "credit_notes"}
    assert_erased(alice.user)


@pytest.mark.parametrize(
    "age", [timedelta(seconds=310), timedelta(minutes=10), timedelta(minutes=55)]
)
def test_a_token_older_than_five_minutes_cannot_erase(alice, settings, age):
    assert settings.ERASURE_FRESH_TOKEN_SECONDS == 300
    stale = bearer_client(stale_access_token(alice.user, age=age), ip=alice.ip)
    assert stale.get("/api/protected/").status_code == 200  # the token itself is valid

    response = curl_delete(stale)

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "reauthentication_required"
    assert_not_erased(alice)


def test_a_token_just_inside_the_fresh_window_can_erase(alice):
    client = bearer_client(stale_access_token(alice.user, age=timedelta(seconds=240)))

    assert curl_delete(client).status_code == 200
    assert_erased(alice.user)


def test_an_older_token_with_the_current_password_erases(alice):
    stale = bearer_client(stale_access_token(alice.user), ip=alice.ip)

    response = stale.post(DELETE, {"password": PASSWORD}, format="json")

    assert response.status_code == 200, response.content
    assert_erased(alice.user)


def test_an_older_token_with_a_wrong_password_is_refused(alice):
    stale = bearer_client(stale_access_token(alice.user), ip=alice.ip)

    response = stale.post(DELETE, {"password": "Wrong#Pass2026"}, format="json")

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "reauthentication_required"
    assert_not_erased(alice)


def test_password_guessing_through_erasure_is_throttled(alice, settings):
    settings.PASSWORD_CHECK_RATE = "5/10m"
    stale = bearer_client(stale_access_token(alice.user), ip=alice.ip)
    for _ in range(5):
        assert stale.post(DELETE, {"password": "Guess#Pass2026"}).status_code == 403

    response = stale.post(DELETE, {"password": "Guess#Pass2026"})

    assert response.status_code == 429, response.content


def test_unauthenticated_erasure_is_401(alice):
    assert curl_delete(APIClient()).status_code == 401
    assert APIClient().post(erase_url(alice.user)).status_code == 401
    assert_not_erased(alice)


# --- After the erasure -------------------------------------------------------------------------


def test_after_erasure_login_tokens_and_protected_api_are_refused(alice):
    client = bearer_client(alice.tokens["access"], ip=alice.ip)
    assert curl_delete(client).status_code == 200

    login = APIClient().post(
        "/api/login/", {"username": alice.values["username"], "password": PASSWORD}
    )
    assert login.status_code == 401
    assert client.get("/api/protected/").status_code == 401
    assert client.get("/api/download_user_data/").status_code == 401
    assert bearer_client(stale_access_token(alice.user)).get("/api/protected/").status_code == 401
    refresh = APIClient().post("/api/token/refresh/", {"refresh": alice.tokens["refresh"]})
    assert refresh.status_code == 401


def test_erasure_leaves_no_plaintext_ciphertext_or_blind_index_in_any_table(alice, bob):
    # Given: what the database holds about Alice, read raw before the erasure.
    ciphertexts = ciphertexts_of(alice)
    indexes = blind_indexes_of(alice)
    before = database_occurrences([*plaintexts(alice), *ciphertexts, *indexes])
    found = {needle for _, _, needle in before}
    # The scan sees what it looks for: every stored value, and plaintext left in the clear
    # (username, colour, technician note, IP address) by the ordinary workings of the app.
    assert set(ciphertexts) <= found
    assert set(indexes) <= found
    for what in ("username", "colour_1", "technician_note", "ip"):
        assert alice.values[what] in found, what
    bob_before = database_occurrences([*ciphertexts_of(bob), *blind_indexes_of(bob)])

    # When
    response = curl_delete(bearer_client(alice.tokens["access"], ip=alice.ip))
    assert response.status_code == 200, response.content

    # Then: none of it anywhere; Bob's data is exactly where it was.
    assert database_occurrences(plaintexts(alice)) == []
    assert database_occurrences(ciphertexts) == []
    assert database_occurrences(indexes) == []
    assert database_occurrences([*ciphertexts_of(bob), *blind_indexes_of(bob)]) == bob_before


def test_erasure_removes_the_document_files_from_disk(alice, django_capture_on_commit_callbacks):
    paths = stored_file_paths(alice)
    stored_ids = list(
        VehicleDocument.objects.filter(vehicle__in=alice.vehicles).values_list("file_id", flat=True)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert curl_delete(alice.client).status_code == 200

    assert [path for path in paths if os.path.exists(path)] == []
    assert not VehicleDocument.objects.filter(pk__in=alice.documents).exists()
    assert not StoredFile.objects.filter(pk__in=stored_ids).exists()


def test_vehicles_without_orders_go_and_vehicles_with_orders_are_anonymised(alice):
    kept, gone = alice.vehicle_with_orders, alice.vehicle_without_orders
    slot = alice.appointment.slot
    booked = AppointmentSlot.objects.get(pk=slot.pk).booked

    assert curl_delete(alice.client).status_code == 200

    assert not Vehicle.objects.filter(pk=gone.pk).exists()
    assert not OdometerReading.objects.filter(vehicle_id=gone.pk).exists()
    kept = Vehicle.objects.get(pk=kept.pk)
    assert (kept.plate, kept.vin, kept.plate_index, kept.vin_index) == (None, None, None, None)
    assert kept.colour == ""
    assert (kept.make, kept.model) == ("Peugeot", "208")  # the work history stays meaningful
    assert not Appointment.objects.filter(pk=alice.appointment.pk).exists()
    assert AppointmentSlot.objects.get(pk=slot.pk).booked == booked - 1
    orders = ServiceOrder.objects.filter(pk__in=[o.pk for o in alice.orders]).order_by("id")
    assert [o.status for o in orders] == ["delivered", "approved"]
    for order in orders:
        assert order.vehicle_id == kept.pk
        assert order.complaint == ""
        assert order.technician_notes == ""
        assert order.approved_ip is None
        assert order.labour_lines.exists() and order.part_lines.exists()
    customer = Customer.objects.get(pk=alice.customer.pk)
    assert customer.user_id is None
    assert customer.full_name == ERASED
    assert (customer.phone, customer.email, customer.national_id, customer.tax_id) == (None,) * 4
    assert customer.phone_secondary is None and customer.address == ""
    assert not Consent.objects.filter(user=alice.user).exists()
    assert not AuthEvent.objects.filter(user=alice.user).exists()
    assert not AccessRecord.objects.filter(subject_user=alice.user).exists()


def test_erasure_leaves_another_customers_data_untouched(alice, bob):
    before = bob.client.get("/api/download_user_data/").getvalue()

    assert curl_delete(alice.client).status_code == 200

    after = bob.client.get("/api/download_user_data/").getvalue()
    assert json.loads(after)["sections"] == json.loads(before)["sections"]
    assert_not_erased(bob)
    assert all(os.path.exists(path) for path in stored_file_paths(bob))


def test_a_person_without_a_customer_record_can_erase_their_account(customer):
    client = logged_in_client(customer)

    response = curl_delete(client)

    assert response.status_code == 200, response.content
    assert response.json()["erased"]["account"] == 1
    assert "customer" not in response.json()["erased"]
    assert_erased(customer)


def test_two_erased_customers_both_keep_their_anonymised_work_history(alice, bob, admin_client):
    assert admin_client.post(erase_url(alice.user)).status_code == 200
    assert admin_client.post(erase_url(bob.user)).status_code == 200

    kept = Vehicle.objects.filter(pk__in=[alice.vehicle_with_orders.pk, bob.vehicle_with_orders.pk])
    assert [(v.plate_index, v.vin_index) for v in kept] == [(None, None), (None, None)]
    assert ServiceOrder.objects.filter(vehicle__in=kept).count() == 4


def test_an_export_on_behalf_of_an_erased_person_holds_nothing_of_them(alice, admin_client):
    assert curl_delete(alice.client).status_code == 200

    response = admin_client.get(f"/api/users/{alice.user.pk}/export/")

    assert response.status_code == 200
    body = json.loads(b"".join(response.streaming_content))
    text = json.dumps(body)
    assert [what for what, value in alice.values.items() if value in text] == []
    sections = body["sections"]
    assert sections["account"][0]["is_active"] is False
    for name in ("contact_details", "customer", "vehicles", "documents", "appointments"):
        assert sections[name] == [], name
    assert sections["service_orders"] == [] and sections["consents"] == []


def test_audit_entries_about_the_persons_objects_keep_none_of_their_values(alice):
    objects = {
        User: [alice.user.pk],
        Profile: list(Profile.objects.filter(user=alice.user).values_list("pk", flat=True)),
        Customer: [alice.customer.pk],
        Vehicle: [v.pk for v in alice.vehicles],
        OdometerReading: list(
            OdometerReading.objects.filter(vehicle__in=alice.vehicles).values_list("pk", flat=True)
        ),
        VehicleDocument: list(alice.documents),
        Appointment: [alice.appointment.pk],
        ServiceOrder: [o.pk for o in alice.orders],
    }

    def entries():
        rows = []
        for model, pks in objects.items():
            rows += LogEntry.objects.filter(
                content_type=ContentType.objects.get_for_model(model),
                object_pk__in=[str(pk) for pk in pks],
            )
        rows += LogEntry.objects.filter(actor=alice.user)
        return rows

    def leaks(rows):
        found = set()
        for entry in rows:
            text = json.dumps(
                [
                    entry.object_repr,
                    entry.changes,
                    entry.changes_text,
                    entry.serialized_data,
                    entry.additional_data,
                    entry.remote_addr,
                    entry.actor_email,
                ],
                ensure_ascii=False,
                default=str,
            )
            found |= {value for value in plaintexts(alice) if value in text}
        return found

    before = entries()
    assert len(before) >= 15
    # Audit rows held their username, vehicle colours, the note and the IP address.
    assert {alice.values[k] for k in ("username", "colour_1", "technician_note", "ip")} <= leaks(
        before
    )

    assert curl_delete(alice.client).status_code == 200

    after = entries()
    assert len(after) >= len(before) - 1  # the rows stay (when and what), their contents go
    assert leaks(after) == set()


# --- Idempotence, super-admins, roles ----------------------------------------------------------


def test_erasing_an_erased_person_again_is_a_no_op_with_already_erased(alice, admin_client):
    assert curl_delete(alice.client).status_code == 200

    response = admin_client.post(erase_url(alice.user))

    assert response.status_code == 200, response.content
    assert response.json()["already_erased"] is True
    assert ErasureLedgerEntry.objects.filter(user_id=alice.user.pk).count() == 1
    assert_erased(alice.user)


def test_super_admin_erases_on_a_persons_behalf(alice, admin_client, admin):
    response = admin_client.post(erase_url(alice.user))

    assert response.status_code == 200, response.content
    assert response.json()["already_erased"] is False
    assert response.json()["erased"]["customer"] == 1
    assert_erased(alice.user)
    entry = ErasureLedgerEntry.objects.get(user_id=alice.user.pk)
    assert entry.requested_by_role == "super_admin"
    admin.refresh_from_db()
    assert admin.is_active  # the requester is untouched


def test_super_admin_erasing_an_unknown_user_is_404(admin_client):
    assert admin_client.post("/api/users/999999/erase/").status_code == 404


def test_an_older_super_admin_token_cannot_erase_someone(alice, admin):
    stale = bearer_client(stale_access_token(admin))

    response = stale.post(erase_url(alice.user))

    assert response.status_code == 403, response.content
    assert_not_erased(alice)


def test_a_technician_or_customer_cannot_erase_someone_else(alice, bob):
    technician = technician_user("mechanic")

    assert logged_in_client(technician).post(erase_url(alice.user)).status_code == 403
    assert bob.client.post(erase_url(alice.user)).status_code == 403
    assert alice.client.post(erase_url(alice.user)).status_code == 403  # not even themselves
    assert_not_erased(alice)
    assert_not_erased(bob)


def test_the_last_active_super_admin_cannot_erase_themselves(admin, admin_client, make_user):
    retired = make_user("retired-admin", Role.SUPER_ADMIN)
    User.objects.filter(pk=retired.pk).update(is_active=False)  # an inactive one does not count

    response = curl_delete(admin_client)

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "last_super_admin"
    admin.refresh_from_db()
    assert admin.is_active and admin.has_usable_password()
    assert not ErasureLedgerEntry.objects.exists()


def test_a_super_admin_can_erase_themselves_when_another_is_active(admin, admin_client, make_user):
    make_user("second-admin", Role.SUPER_ADMIN)

    response = curl_delete(admin_client)

    assert response.status_code == 200, response.content
    assert_erased(admin)


# --- The erasure ledger -------------------------------------------------------------------------


def test_the_ledger_records_the_erasure_without_personal_data(
    alice, ledger_file, django_capture_on_commit_callbacks
):
    stored = [*ciphertexts_of(alice), *blind_indexes_of(alice)]

    with django_capture_on_commit_callbacks(execute=True):
        response = curl_delete(alice.client)
    assert response.status_code == 200

    entry = ErasureLedgerEntry.objects.get()
    assert entry.user_id == alice.user.pk
    assert entry.requested_by_role == "customer"
    lines = ledger_file.read_text().splitlines()
    assert len(lines) == 1
    assert ledger_read(ledger_file) == [
        {
            "user_id": alice.user.pk,
            "joined": alice.user.date_joined.isoformat(),
            "erased_at": entry.erased_at.isoformat(),
        }
    ]
    row_text = json.dumps([entry.subject_ids, entry.requested_by_role, str(entry)])
    for value in [*alice.values.values(), *stored]:
        assert value not in lines[0]
        assert value not in row_text
    assert oct(ledger_file.stat().st_mode & 0o777) == "0o600"


def test_an_erasure_that_fails_part_way_changes_nothing(alice, monkeypatch):
    def broken(user):
        raise RuntimeError("disk full")

    source = registry._sources["account"]
    monkeypatch.setitem(registry._sources, "account", replace(source, erase=broken))
    client = bearer_client(alice.tokens["access"], ip=alice.ip)
    client.raise_request_exception = False

    response = curl_delete(client)

    assert response.status_code == 500
    assert_not_erased(alice)
    assert VehicleDocument.objects.filter(pk__in=alice.documents).count() == 2


def test_an_erasure_that_fails_part_way_keeps_the_document_files(alice, monkeypatch):
    paths = stored_file_paths(alice)

    def broken(user):
        raise RuntimeError("disk full")

    source = registry._sources["account"]
    monkeypatch.setitem(registry._sources, "account", replace(source, erase=broken))
    client = bearer_client(alice.tokens["access"], ip=alice.ip)
    client.raise_request_exception = False

    assert curl_delete(client).status_code == 500

    assert all(os.path.exists(path) for path in paths)


def test_erasing_a_technician_removes_their_username_from_notes(admin):
    technician = technician_user("karim.mecano7")
    order = order_with_lines(admin)
    order_services.service_order_assign(actor=admin, order=order, technician_ids=[technician.pk])
    order_services.service_order_send_estimate(actor=admin, order=order)
    order_services.service_order_approve(actor=admin, order=order)
    order_services.service_order_start(actor=technician, order=order)
    order_services.service_order_note_add(actor=technician, order=order, text="Disques uses")
    assert database_occurrences(["karim.mecano7"]) != []

    assert curl_delete(logged_in_client(technician)).status_code == 200

    assert database_occurrences(["karim.mecano7"]) == []


def test_a_vehicle_deleted_at_erasure_leaves_no_colour_in_its_delete_audit_entry(alice):
    colour = alice.values["colour_2"]
    assert database_occurrences([colour]) != []

    assert curl_delete(alice.client).status_code == 200

    assert database_occurrences([colour]) == []


def test_issued_invoices_stay_valid_after_erasure(alice, admin_client):
    invoice = Invoice.objects.get(customer=alice.customer)
    credit_note = CreditNote.objects.get(invoice=invoice)
    before = (invoice.number, invoice.status, invoice.total_ttc, invoice.buyer)
    assert before[3]["name"] == alice.values["customer_full_name"]

    assert curl_delete(alice.client).status_code == 200

    invoice.refresh_from_db()
    credit_note.refresh_from_db()
    assert (invoice.number, invoice.status, invoice.total_ttc, invoice.buyer) == before
    assert credit_note.number is not None
    # The super-admin can still produce the legal document for the tax administration.
    pdf = admin_client.get(f"/api/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
