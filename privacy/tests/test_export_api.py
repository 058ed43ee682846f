"""Export: GET /api/download_user_data/ (JSON or zip) and the super-admins' export on behalf."""

import gc
import io
import json
import tracemalloc
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
import yaml
from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import user_create
from garage.models import LabourLine, PartLine, ServiceOrder
from garage.tests.factories import PartFactory, ServiceFactory, VehicleFactory, customer_user
from garage.tests.order_helpers import technician_user
from privacy.models import AccessRecord
from privacy.registry import registry
from privacy.tests.people import (
    bearer_client,
    logged_in_client,
    rich_person,
)

pytestmark = pytest.mark.django_db

EXPORT = "/api/download_user_data/"
ALICE_IP = "198.51.100.21"
BOB_IP = "198.51.100.52"


def export_url(user) -> str:
    return f"/api/users/{user.pk}/export/"


def content(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


def exported(response) -> dict:
    assert response.status_code == 200, response.content
    return json.loads(content(response))


@pytest.fixture
def admin(db):
    return user_create(
        username="frontdesk",
        password="Garage#Pass2026",
        role=Role.SUPER_ADMIN,
        contact={
            "full_name": "Sonia Accueil",
            "email": "sonia.staff@garage-ecar.tn",
            "phone": "+21698111222",
        },
    )


@pytest.fixture
def admin_client(admin):
    return logged_in_client(admin)


@pytest.fixture
def alice(admin, admin_client):
    return rich_person(1, "amel", admin=admin, admin_client=admin_client, ip=ALICE_IP)


@pytest.fixture
def bob(admin, admin_client):
    return rich_person(2, "bilel", admin=admin, admin_client=admin_client, ip=BOB_IP)


def exported_sources() -> set[str]:
    return {source.name for source in registry.sources() if source.export is not None}


# --- The export with the README's curl ---------------------------------------------------------


def test_export_with_the_readme_curl_is_a_json_attachment_of_everything(alice, bob):
    # curl -H "Authorization: Bearer <access>" http://127.0.0.1:8000/api/download_user_data/
    response = bearer_client(alice.tokens["access"]).get(EXPORT)

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/json"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="ecar-personal-data-')
    assert disposition.endswith('.json"')
    assert response["Cache-Control"] == "no-store"
    raw = content(response)
    body = json.loads(raw)
    assert body["format"] == "ecar-personal-data/1"
    assert body["user_id"] == alice.user.pk
    # Every registered source with an export is a section, and Alice has data in each one.
    assert set(body["sections"]) == exported_sources()
    assert {"account", "contact_details", "customer", "vehicles", "documents"} <= set(
        body["sections"]
    )
    assert {"appointments", "service_orders", "consents", "auth_events", "access_log"} <= set(
        body["sections"]
    )
    empty = [name for name, rows in body["sections"].items() if not rows]
    assert empty == []
    # Nothing of Bob's, anywhere.
    text = raw.decode()
    assert [what for what, value in bob.values.items() if value in text] == []


def test_export_holds_the_persons_real_values(alice, admin):
    sections = exported(alice.client.get(EXPORT))["sections"]
    v = alice.values

    assert sections["account"] == [
        {
            "id": alice.user.pk,
            "username": v["username"],
            "role": "customer",
            "is_active": True,
            "date_joined": sections["account"][0]["date_joined"],
            "last_login": sections["account"][0]["last_login"],
        }
    ]
    [contact] = sections["contact_details"]
    assert (contact["full_name"], contact["email"], contact["phone"], contact["address"]) == (
        v["profile_full_name"],
        v["profile_email"],
        v["profile_phone"],
        v["profile_address"],
    )
    [customer] = sections["customer"]
    assert customer["id"] == alice.customer.pk
    assert customer["full_name"] == v["customer_full_name"]
    assert customer["email"] == v["customer_email"]
    assert customer["phone"] == v["customer_phone"]
    assert customer["phone_secondary"] == v["customer_phone_secondary"]
    assert customer["national_id"] == v["national_id"]
    assert customer["tax_id"] == v["tax_id"]
    assert customer["address"] == v["customer_address"]

    vehicles = {row["id"]: row for row in sections["vehicles"]}
    assert set(vehicles) == {vehicle.pk for vehicle in alice.vehicles}
    first = vehicles[alice.vehicle_with_orders.pk]
    assert first["vin"] == v["vin_1"]
    assert first["colour"] == v["colour_1"]
    assert first["plate"] == v["plate_1"]  # as entered
    assert [reading["km"] for reading in first["odometer"]] == [40101]
    assert vehicles[alice.vehicle_without_orders.pk]["vin"] == v["vin_2"]

    documents = sorted(sections["documents"], key=lambda row: row["id"])
    assert [d["original_name"] for d in documents] == [v["document_1_name"], v["document_2_name"]]
    assert [d["id"] for d in documents] == sorted(alice.documents)
    assert all(d["content_type"] == "application/pdf" for d in documents)
    assert [d["size"] for d in documents] == [len(alice.documents[d["id"]]) for d in documents]

    [appointment] = sections["appointments"]
    assert appointment["notes"] == v["appointment_notes"]
    assert appointment["vehicle_id"] == alice.vehicle_without_orders.pk

    orders = {row["id"]: row for row in sections["service_orders"]}
    delivered, approved = alice.orders
    assert orders[delivered.pk]["complaint"] == v["complaint_1"]
    assert orders[delivered.pk]["status"] == "delivered"
    assert orders[approved.pk]["complaint"] == v["complaint_2"]
    assert v["technician_note"] in orders[approved.pk]["technician_notes"]
    assert orders[approved.pk]["approved_ip"] == alice.ip
    assert orders[approved.pk]["approval_method"] == "app"
    assert len(orders[delivered.pk]["labour_lines"]) == 1
    assert len(orders[delivered.pk]["part_lines"]) == 1

    consents = sections["consents"]
    assert [(c["purpose"], c["granted"]) for c in consents] == [
        ("privacy_notice", True),
        ("marketing", True),
    ]
    assert all(c["notice_version"] == "1" and c["ip"] == alice.ip for c in consents)

    kinds = [event["kind"] for event in sections["auth_events"]]
    assert kinds[:2] == ["login_failed", "login_succeeded"]
    assert {event["ip"] for event in sections["auth_events"]} == {alice.ip}

    # The front desk's read of her customer record: by name and role, nothing more.
    assert {"action": "customer.read", "by": "Sonia Accueil", "role": "super_admin"} in [
        {key: row[key] for key in ("action", "by", "role")} for row in sections["access_log"]
    ]
    access_text = json.dumps(sections["access_log"])
    assert "sonia.staff@garage-ecar.tn" not in access_text
    assert "+21698111222" not in access_text
    assert admin.username not in access_text


def test_export_ignores_any_attempt_to_name_another_user(alice, bob):
    body = exported(alice.client.get(EXPORT, {"user": bob.user.pk, "user_id": bob.user.pk}))

    assert body["user_id"] == alice.user.pk
    text = json.dumps(body)
    assert [what for what, value in bob.values.items() if value in text] == []


def test_export_as_zip_holds_data_json_and_the_decrypted_documents(alice):
    json_body = exported(alice.client.get(EXPORT))

    response = alice.client.get(EXPORT, {"format": "zip"})

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="ecar-personal-data-')
    assert response["Content-Disposition"].endswith('.zip"')
    archive = zipfile.ZipFile(io.BytesIO(content(response)))
    assert archive.testzip() is None
    data = json.loads(archive.read("data.json"))
    assert data["user_id"] == alice.user.pk
    assert data["sections"] == json_body["sections"]
    names = {document["archive_name"]: document["id"] for document in data["sections"]["documents"]}
    assert sorted(archive.namelist()) == sorted(
        ["data.json", *(f"documents/{name}" for name in names)]
    )
    for name, pk in names.items():
        assert archive.read(f"documents/{name}") == alice.documents[pk]  # byte for byte


def test_each_export_is_an_access_record(alice, admin, admin_client):
    alice.client.get(EXPORT, {"format": "zip"})
    admin_client.get(export_url(alice.user))

    records = AccessRecord.objects.filter(action="personal_data.export").order_by("id")
    assert [(r.actor_id, r.actor_role, r.subject_user_id) for r in records] == [
        (alice.user.pk, "customer", alice.user.pk),
        (admin.pk, "super_admin", alice.user.pk),
    ]
    assert records[0].ip == alice.ip
    assert records[0].subject == alice.user
    # Her own export is not "someone else reading her data"; the front desk's is.
    log = alice.client.get("/api/me/access-log/").json()["results"]
    exports = [row for row in log if row["action"] == "personal_data.export"]
    assert [(row["by"], row["role"]) for row in exports] == [("Sonia Accueil", "super_admin")]


def test_exports_are_rate_limited(alice, settings):
    settings.EXPORT_RATE = "2/h"

    assert alice.client.get(EXPORT).status_code == 200
    assert alice.client.get(EXPORT, {"format": "zip"}).status_code == 200
    response = alice.client.get(EXPORT)

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert AccessRecord.objects.filter(action="personal_data.export").count() == 2


def test_the_rate_limit_is_per_requester(alice, bob, settings):
    settings.EXPORT_RATE = "2/h"
    for _ in range(2):
        assert alice.client.get(EXPORT).status_code == 200
    assert alice.client.get(EXPORT).status_code == 429

    assert bob.client.get(EXPORT).status_code == 200


def test_staff_export_their_own_data_too(make_user):
    technician = make_user("mechanic", Role.TECHNICIAN)

    body = exported(logged_in_client(technician).get(EXPORT))

    assert body["user_id"] == technician.pk
    assert body["sections"]["account"][0]["username"] == "mechanic"
    assert body["sections"]["customer"] == [] and body["sections"]["vehicles"] == []
    assert [event["kind"] for event in body["sections"]["auth_events"]] == ["login_succeeded"]


def test_export_needs_authentication(alice):
    assert APIClient().get(EXPORT).status_code == 401
    assert APIClient().get(EXPORT, {"format": "zip"}).status_code == 401
    assert APIClient().get(export_url(alice.user)).status_code == 401
    assert not AccessRecord.objects.filter(action="personal_data.export").exists()


# --- Export on a person's behalf ---------------------------------------------------------------


def test_super_admin_exports_a_persons_data_on_their_behalf(alice, bob, admin_client):
    response = admin_client.get(export_url(alice.user))

    body = exported(response)
    assert response["Content-Disposition"].startswith("attachment;")
    assert body["user_id"] == alice.user.pk
    assert body["sections"]["customer"][0]["national_id"] == alice.values["national_id"]
    assert set(body["sections"]) == exported_sources()
    text = json.dumps(body)
    assert [what for what, value in bob.values.items() if value in text] == []
    zipped = admin_client.get(export_url(alice.user), {"format": "zip"})
    archive = zipfile.ZipFile(io.BytesIO(content(zipped)))
    assert len([name for name in archive.namelist() if name.startswith("documents/")]) == 2


def test_nobody_but_a_super_admin_exports_another_person(alice, bob):
    technician = technician_user("mechanic")

    assert bob.client.get(export_url(alice.user)).status_code == 403
    assert alice.client.get(export_url(alice.user)).status_code == 403
    assert logged_in_client(technician).get(export_url(alice.user)).status_code == 403
    assert not AccessRecord.objects.filter(
        action="personal_data.export", subject_user=alice.user
    ).exists()


def test_super_admin_export_of_an_unknown_user_is_404(admin_client):
    assert admin_client.get("/api/users/999999/export/").status_code == 404


# --- Bounded memory -----------------------------------------------------------------------------


def customer_with_orders(count: int):
    """A customer with `count` service orders of long texts, each with two lines (bulk rows)."""
    owner = customer_user("fleet.owner")
    vehicle = VehicleFactory(customer=owner.customer)
    service, part = ServiceFactory(), PartFactory()
    now = timezone.now()
    orders = ServiceOrder.objects.bulk_create(
        [
            ServiceOrder(
                customer=owner.customer,
                vehicle=vehicle,
                status=ServiceOrder.Status.DELIVERED,
                complaint=f"Order {i}: " + "bruit au freinage " * 100,
                technician_notes=f"Order {i}: " + "plaquettes et disques changes " * 120,
                created_at=now - timedelta(minutes=i),
            )
            for i in range(count)
        ],
        batch_size=500,
    )
    LabourLine.objects.bulk_create(
        [
            LabourLine(
                order=order,
                service=service,
                description="Remplacement plaquettes",
                hours=Decimal("1.50"),
                unit_price=Decimal("45.000"),
                tva_rate=Decimal("19.00"),
            )
            for order in orders
        ],
        batch_size=500,
    )
    PartLine.objects.bulk_create(
        [
            PartLine(
                order=order,
                part=part,
                quantity=2,
                unit_price=Decimal("12.500"),
                tva_rate=Decimal("19.00"),
            )
            for order in orders
        ],
        batch_size=500,
    )
    return owner


def test_export_of_2000_service_orders_streams_with_bounded_memory(auth_client):
    owner = customer_with_orders(2000)
    client = auth_client(owner)
    gc.collect()

    tracemalloc.start()
    try:
        response = client.get(EXPORT)
        assert response.status_code == 200
        assert isinstance(response, StreamingHttpResponse) and response.streaming
        size = chunks = 0
        tail = b""
        for chunk in response.streaming_content:
            size += len(chunk)
            chunks += 1
            tail = (tail + chunk)[-64:]
            if chunks % 100 == 0:
                # Django's prefetch caches are reference cycles, freed by the cyclic collector
                # whenever it runs: collect now and then, to measure what the stream keeps alive.
                gc.collect()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert tail.endswith(b"]}}")
    assert size > 10_000_000  # the whole export is large…
    assert chunks > 2000  # …and produced piece by piece…
    assert peak < 20_000_000, peak  # …yet never held whole: a bounded working set
    assert peak < size * 3 // 4, (peak, size)


def test_the_export_of_2000_orders_is_complete(auth_client):
    owner = customer_with_orders(2000)

    body = exported(auth_client(owner).get(EXPORT))

    orders = body["sections"]["service_orders"]
    assert len(orders) == 2000
    assert len({order["id"] for order in orders}) == 2000
    assert all(len(o["labour_lines"]) == 1 and len(o["part_lines"]) == 1 for o in orders)


# --- The OpenAPI schema -------------------------------------------------------------------------


def test_the_schema_documents_the_export_format(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)

    for path in ("/api/download_user_data/", "/api/users/{id}/export/"):
        operation = schema["paths"][path]["get"]
        ok = operation["responses"]["200"]["content"]
        assert ok["application/json"]["schema"]["$ref"].endswith("/ExportDocument")
        assert ok["application/zip"]["schema"] == {"type": "string", "format": "binary"}
        assert "429" in operation["responses"]
        formats = [p for p in operation["parameters"] if p["name"] == "format"]
        assert formats and formats[0]["schema"]["enum"] == ["json", "zip"]
    export = schema["components"]["schemas"]["ExportDocument"]
    assert set(export["required"]) >= {"format", "generated_at", "user_id", "sections"}
    assert export["properties"]["sections"]["type"] == "object"
