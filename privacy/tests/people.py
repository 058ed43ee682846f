"""Builders for the data-subject rights tests: a customer with data in every category.

Everything is created through the real services and API endpoints (login, vehicles, odometer,
documents, appointments, consents, a staff read of the customer record), so the rows, audit
entries, auth events and access records are the ones production would hold.

Every value that identifies a person is ASCII and unique to them (a digit `n` and a tag run
through it), so a raw scan of the database can look for it without false positives.
"""

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import AuthEvent, Profile, Role, User
from accounts.services import user_create
from accounts.tokens import GENERATION_CLAIM
from garage.identifiers import normalise_plate
from garage.models import Appointment, Customer, ServiceOrder, Vehicle, VehicleDocument
from garage.services import orders as order_services
from garage.services.appointments import GARAGE_TIMEZONE
from garage.services.customers import customer_create
from garage.tests.documents import pdf_document
from garage.tests.factories import ServiceFactory
from garage.tests.order_helpers import order_in, order_with_lines
from incidents.detectors import Finding
from incidents.models import SecurityAlert
from incidents.services import alert_raise
from invoices import services as invoice_services
from invoices.tests.helpers import seller
from notifications.models import Notification
from notifications.services import notification_enqueue
from privacy.fields import BlindIndexField
from privacy.models import StoredFile

PASSWORD = "Garage#Pass2026"
STAFF_IP = "127.0.0.1"


def own_ledger(settings, tmp_path) -> Path:
    """Point ERASURE_LEDGER_PATH at a file of the test's own: other tests' entries never apply."""
    path = tmp_path / "ledger" / "erasure-ledger.jsonl"
    settings.ERASURE_LEDGER_PATH = str(path)
    return path


# --- Clients and tokens -------------------------------------------------------------------------


def api_login(username: str, password: str = PASSWORD, ip: str = STAFF_IP) -> dict:
    """Log in through the API from `ip`; the response body (access, refresh, user)."""
    response = APIClient(REMOTE_ADDR=ip).post(
        "/api/login/", {"username": username, "password": password}
    )
    assert response.status_code == 200, response.content
    return response.json()


def bearer_client(access: str, ip: str = STAFF_IP) -> APIClient:
    """An API client sending `Authorization: Bearer <access>` and nothing else, like curl."""
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def logged_in_client(user, ip: str = STAFF_IP) -> APIClient:
    """A client with a freshly issued access token of `user` (a real login)."""
    return bearer_client(api_login(user.username, ip=ip)["access"], ip=ip)


def stale_access_token(user, *, age: timedelta = timedelta(minutes=10)) -> str:
    """A valid access token of `user` (current generation) issued `age` ago."""
    user.refresh_from_db()
    token = AccessToken.for_user(user)
    token[GENERATION_CLAIM] = user.token_generation
    token.set_iat(at_time=timezone.now() - age)
    return str(token)


# --- A customer with data in every category ------------------------------------------------------


def pdf_bytes(marker: str) -> bytes:
    return pdf_document(marker, lines=300)


def next_open_slot(days_ahead: int = 3, hour: int = 10) -> datetime:
    """A bookable slot start: a future Monday-to-Saturday, on the hour, in Tunis time."""
    day = timezone.localdate() + timedelta(days=days_ahead)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return datetime.combine(day, time(hour, 0), tzinfo=GARAGE_TIMEZONE)


@dataclass
class Person:
    n: int
    tag: str
    user: User
    ip: str
    tokens: dict
    client: APIClient
    customer: Customer
    vehicle_with_orders: Vehicle
    vehicle_without_orders: Vehicle
    appointment: Appointment
    orders: list
    documents: dict = field(default_factory=dict)  # document pk -> plaintext bytes
    values: dict = field(default_factory=dict)  # what -> plaintext known to be theirs only

    @property
    def vehicles(self) -> list:
        return [self.vehicle_with_orders, self.vehicle_without_orders]


def person_values(n: int, tag: str, ip: str) -> dict:
    """The identifying values of person number `n` (1 to 9), all ASCII and all distinct."""
    assert 1 <= n <= 9
    cap = tag.capitalize()
    return {
        "username": f"{tag}.rights{n}",
        "profile_full_name": f"{cap} Trabelsiprofil{n}",
        "profile_email": f"{tag}.profil{n}@exemple-prive.tn",
        "profile_phone": f"+21620{n}{n}7{n}0{n}",
        "profile_address": f"{n} rue de la Liberte-{cap}prof, Sfax",
        "customer_full_name": f"{cap} Trabelsiclient{n}",
        "customer_email": f"{tag}.client{n}@exemple-prive.tn",
        "customer_phone": f"+21650{n}{n}8{n}0{n}",
        "customer_phone_secondary": f"+21671{n}{n}9{n}0{n}",
        "customer_address": f"{n} avenue Bourguiba-{cap}cli, Sousse",
        "national_id": f"0{n}{n}7{n}3{n}9",
        "tax_id": f"{n}2{n}4{n}6{n}KAM00{n}",
        "plate_1": f"{100 + n} TU {7000 + n}",
        "plate_1_normalised": normalise_plate(f"{100 + n} TU {7000 + n}"),
        "plate_2": f"{200 + n} TU {8000 + n}",
        "plate_2_normalised": normalise_plate(f"{200 + n} TU {8000 + n}"),
        "vin_1": f"VF1RGT{n}0000{n}{n}{n}{n}{n}{n}",
        "vin_2": f"VF7KLM{n}1111{n}{n}{n}{n}{n}{n}",
        "colour_1": f"Vert-Olive-{cap}",
        "colour_2": f"Bleu-Nuit-{cap}",
        "complaint_1": f"Bruit de frein avant {cap}-plainte-un",
        "complaint_2": f"Voyant moteur allume {cap}-plainte-deux",
        "technician_note": f"Client {cap} signale une vibration-notetech",
        "appointment_notes": f"Vidange urgente demandee par {cap}-notesrdv",
        "document_1_name": f"carte-grise-{tag}-{n}-a.pdf",
        "document_2_name": f"carte-grise-{tag}-{n}-b.pdf",
        "ip": ip,
    }


def rich_person(n: int, tag: str, *, admin, admin_client: APIClient, ip: str) -> Person:
    """A customer holding data in every category, built through the real services and API."""
    values = person_values(n, tag, ip)
    user = user_create(
        username=values["username"],
        password=PASSWORD,
        role=Role.CUSTOMER,
        contact={
            "full_name": values["profile_full_name"],
            "email": values["profile_email"],
            "phone": values["profile_phone"],
            "address": values["profile_address"],
        },
    )
    customer = customer_create(
        full_name=values["customer_full_name"],
        user=user,
        tax_id=values["tax_id"],
        national_id=values["national_id"],
        phone=values["customer_phone"],
        phone_secondary=values["customer_phone_secondary"],
        email=values["customer_email"],
        address=values["customer_address"],
    )

    # A mistyped password first (a failed-login auth event about them), then a real login.
    failed = APIClient(REMOTE_ADDR=ip).post(
        "/api/login/", {"username": values["username"], "password": "not-the-password"}
    )
    assert failed.status_code == 401, failed.content
    tokens = api_login(values["username"], ip=ip)
    client = bearer_client(tokens["access"], ip=ip)

    vehicles = []
    for index in (1, 2):
        response = client.post(
            "/api/vehicles/",
            {
                "plate": values[f"plate_{index}"],
                "vin": values[f"vin_{index}"],
                "make": "Peugeot",
                "model": "208",
                "year": 2018,
                "colour": values[f"colour_{index}"],
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        vehicle = Vehicle.objects.get(pk=response.json()["id"])
        reading = client.post(
            f"/api/vehicles/{vehicle.pk}/odometer/", {"km": 40000 + n * 100 + index}, format="json"
        )
        assert reading.status_code == 201, reading.content
        vehicles.append(vehicle)
    with_orders, without_orders = vehicles

    documents = {}
    for index, vehicle in ((1, with_orders), (2, without_orders)):
        content = pdf_bytes(f"CG-{tag.upper()}-{n}-{index}-CONTENT")
        upload = SimpleUploadedFile(
            values[f"document_{index}_name"], content, content_type="application/pdf"
        )
        response = client.post(
            f"/api/vehicles/{vehicle.pk}/documents/", {"file": upload}, format="multipart"
        )
        assert response.status_code == 201, response.content
        assert response.json()["original_name"] == values[f"document_{index}_name"]
        documents[response.json()["id"]] = content

    service = ServiceFactory()
    response = client.post(
        "/api/appointments/",
        {
            "vehicle": without_orders.pk,
            "start": next_open_slot().isoformat(),
            "services": [service.pk],
            "notes": values["appointment_notes"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get(pk=response.json()["id"])

    # Service orders on the first vehicle: one delivered, one approved in the app with a note.
    delivered = order_in(
        ServiceOrder.Status.DELIVERED, admin, vehicle=with_orders, complaint=values["complaint_1"]
    )
    approved = order_with_lines(admin, vehicle=with_orders, complaint=values["complaint_2"])
    order_services.service_order_note_add(
        actor=admin, order=approved, text=values["technician_note"]
    )
    order_services.service_order_send_estimate(actor=admin, order=approved)
    approved = order_services.service_order_approve(actor=user, order=approved, ip=ip)

    # The delivered order is invoiced, and the invoice then credited in full.
    seller()
    invoice = invoice_services.invoice_issue(
        actor=admin, invoice=invoice_services.invoice_create(actor=admin, service_order=delivered)
    )
    invoice_services.credit_note_issue(
        actor=admin,
        credit_note=invoice_services.credit_note_create(
            actor=admin, invoice=invoice, reason="Geste commercial"
        ),
    )

    for purpose in ("privacy_notice", "marketing"):
        response = client.post("/api/me/consents/", {"purpose": purpose, "granted": True})
        assert response.status_code == 201, response.content

    # An authenticator app enrolment started in the app (unconfirmed: logins stay password-only).
    assert client.post("/api/mfa/totp/").status_code == 201

    # Their appointment is confirmed by e-mail: a message in the outbox.
    with transaction.atomic():
        notification_enqueue(
            template="appointment_confirmation",
            language="fr",
            channel="email",
            address=values["customer_email"],
            context={
                "appointment_reference": f"RDV-{appointment.pk}",
                "start": appointment.slot.start.isoformat(),
                "vehicle": values["plate_2"],
                "services": [service.name],
                "garage_address": "12 rue de Marseille, Tunis",
                "contact": "71 000 000",
            },
            recipient_ref=f"user:{user.pk}",
            dedupe_key=f"appointment:{appointment.pk}:email",
        )

    # A detector noticed their login after a long absence: a security alert naming them.
    alert_raise(
        finding=Finding(
            SecurityAlert.Detector.INACTIVE_LOGIN,
            "medium",
            f"inactive_login:{user.pk}",
            timezone.now(),
            {"user_id": user.pk, "days_inactive": 200, "first_login": False, "ip": ip},
        )
    )

    # The front desk reads their record: an access record about them.
    assert admin_client.get(f"/api/customers/{customer.pk}/").status_code == 200

    return Person(
        n=n,
        tag=tag,
        user=user,
        ip=ip,
        tokens=tokens,
        client=client,
        customer=customer,
        vehicle_with_orders=with_orders,
        vehicle_without_orders=without_orders,
        appointment=appointment,
        orders=[delivered, approved],
        documents=documents,
        values=values,
    )


# --- What the database holds about a person, read raw --------------------------------------------


def _encrypted_columns(model) -> list[str]:
    return [f.column for f in model._meta.fields if getattr(f, "encrypted", False)]


def _index_columns(model) -> list[str]:
    return [f.column for f in model._meta.fields if isinstance(f, BlindIndexField)]


def raw_values(model, pks, columns) -> list[str]:
    """The values stored in `columns` of these rows, exactly as the database holds them."""
    pks = list(pks)
    if not pks or not columns:
        return []
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk_column = quote(model._meta.pk.column)
    placeholders = ", ".join(["%s"] * len(pks))
    selected = ", ".join(quote(column) for column in columns)
    values = [model._meta.pk.get_db_prep_value(pk, connection) for pk in pks]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {selected} FROM {table} WHERE {pk_column} IN ({placeholders})",
            values,
        )
        rows = cursor.fetchall()
    return [str(value) for row in rows for value in row if value not in (None, "")]


def _rows_of(person: Person) -> dict:
    """The person's rows per model (primary keys)."""
    vehicle_pks = [v.pk for v in person.vehicles]
    documents = VehicleDocument.objects.filter(vehicle_id__in=vehicle_pks)
    return {
        Profile: list(Profile.objects.filter(user=person.user).values_list("pk", flat=True)),
        Customer: [person.customer.pk],
        Vehicle: vehicle_pks,
        Appointment: [person.appointment.pk],
        ServiceOrder: [o.pk for o in person.orders],
        StoredFile: list(documents.values_list("file_id", flat=True)),
        Notification: list(
            Notification.objects.filter(recipient_ref=f"user:{person.user.pk}").values_list(
                "pk", flat=True
            )
        ),
    }


def ciphertexts_of(person: Person) -> list[str]:
    """Every encrypted column value of the person's rows, as stored (ciphertext)."""
    found = []
    for model, pks in _rows_of(person).items():
        found += raw_values(model, pks, _encrypted_columns(model))
    assert len(found) >= 20, found  # the builder filled every category
    return found


def blind_indexes_of(person: Person) -> list[str]:
    """Every blind-index value of the person's rows, plus the keyed digests of their username."""
    found = []
    for model, pks in _rows_of(person).items():
        found += raw_values(model, pks, _index_columns(model))
    found += [
        digest
        for digest in AuthEvent.objects.filter(user=person.user).values_list(
            "username_digest", flat=True
        )
        if digest
    ]
    assert len(found) >= 10, found
    return sorted(set(found))


def stored_file_paths(person: Person) -> list[str]:
    """Where the person's encrypted documents are on disk."""
    files = StoredFile.objects.filter(
        pk__in=VehicleDocument.objects.filter(
            vehicle_id__in=[v.pk for v in person.vehicles]
        ).values("file_id")
    )
    paths = [stored.file.path for stored in files]
    assert paths and all(os.path.exists(path) for path in paths)
    return paths


def _text(value) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def database_occurrences(needles) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a needle occurs in any row of any table (raw SQL)."""
    needles = [needle for needle in set(needles) if needle]
    found = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {quote(table)}")
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = _text(value)
                    found += [(table, column, n) for n in needles if n in text]
    return sorted(set(found))
