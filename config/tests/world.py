"""Real objects for every role, for the fuzzing and authorisation-matrix tests of the whole API.

Two customers, each with a vehicle (document, reading), an appointment, a service order in
progress assigned to a technician, and an issued invoice with a payment and a draft credit
note. "Own" objects are those of the first customer (or assigned to the first technician);
"other" ones those of the second. Everything goes through the services.
"""

import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Role
from accounts.services import user_create
from accounts.tokens import token_pair
from garage.models import ServiceOrder
from garage.services import appointments, catalogue, vehicles
from garage.services.appointments import day_slot_starts
from garage.tests.documents import pdf_document
from garage.tests.factories import PartFactory, ServiceFactory
from garage.tests.order_helpers import PASSWORD, order_in, owner_vehicle
from incidents import services as incident_services
from incidents.detectors import Finding
from incidents.models import Severity
from invoices import services as invoicing
from invoices.models import Payment
from invoices.tests import helpers as invoice_helpers
from privacy.models import PrivacyNotice

ROLES = ("anonymous", "customer", "technician", "super_admin")
# The object kind of a path parameter, by the URL segment in front of it.
KIND_BY_SEGMENT = {
    "alerts": "alert",
    "appointments": "appointment",
    "credit-notes": "credit_note",
    "customers": "customer",
    "documents": "document",
    "incidents": "incident",
    "invoices": "invoice",
    "labour-lines": "labour_line",
    "lines": "invoice_line",
    "parts": "part",
    "payments": "payment",
    "service-orders": "service_order",
    "services": "service",
    "users": "user",
    "vehicles": "vehicle",
}

PDF = pdf_document()


def path_kinds(path: str) -> dict[str, str]:
    """{parameter name: object kind} of a path template such as /api/vehicles/{vehicle_pk}/…"""
    segments = path.strip("/").split("/")
    return {
        segment[1:-1]: KIND_BY_SEGMENT[previous]
        for previous, segment in pairwise(segments)
        if segment.startswith("{")
    }


@dataclass
class World:
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    # kind -> {"own": id, "other": id}
    ids: dict = field(default_factory=dict)

    def headers(self, role: str) -> dict:
        """The Authorization header of a role (none for anonymous)."""
        token = self.tokens.get(role)
        return {"Authorization": f"Bearer {token}"} if token else {}


def _next_slot(offset: int):
    day = timezone.localdate() + timedelta(days=2)
    starts = []
    while len(starts) <= offset:
        starts += day_slot_starts(day)
        day += timedelta(days=1)
    return starts[offset]


def _customer_objects(*, admin, owner, technician, service, part, slot: int) -> dict:
    vehicle = owner_vehicle(owner)
    document = vehicles.vehicle_document_upload(
        vehicle=vehicle,
        upload=SimpleUploadedFile("carte-grise.pdf", PDF, content_type="application/pdf"),
        actor=owner,
    )
    reading = vehicles.odometer_reading_add(vehicle=vehicle, actor=owner, km=42_000)
    appointment = appointments.appointment_book(
        actor=owner,
        customer=owner.customer,
        vehicle=vehicle,
        start=_next_slot(slot),
        services=[service],
        notes="Bruit au freinage",
    )
    order = order_in(
        ServiceOrder.Status.IN_PROGRESS,
        admin,
        technicians=[technician],
        vehicle=vehicle,
        part=part,
    )
    invoice = invoice_helpers.issued_invoice(admin, owner.customer)
    credit_note = invoicing.credit_note_create(
        actor=admin, invoice=invoice, reason="Geste commercial"
    )
    payment = invoicing.payment_record(
        actor=admin, invoice=invoice, method=Payment.Method.CASH, amount=Decimal("10.000")
    )
    line = invoice.lines.order_by("pk").first()
    return {
        "customer": owner.customer.pk,
        "vehicle": vehicle.pk,
        "document": document.pk,
        "odometer": reading.pk,
        "appointment": appointment.pk,
        "service_order": order.pk,
        "labour_line": order.labour_lines.first().pk,
        "invoice": invoice.pk,
        "invoice_line": line.pk,
        "payment": payment.pk,
        "credit_note": credit_note.pk,
        "user": owner.pk,
    }


def _alert(n: int) -> int:
    """A medium alert of its own pattern (security records are not the world's subject)."""
    finding = Finding(
        detector="brute_force",
        severity=Severity.MEDIUM,
        key=f"world:{n}",
        at=timezone.now(),
        evidence={"attempts": 10},
    )
    return incident_services.alert_raise(finding=finding)[0].pk


def _pair(ids) -> dict:
    own, other = ids
    return {"own": own, "other": other}


def build_world() -> World:
    """Create the users, their tokens and their objects; return their ids."""
    world = World()
    admin = user_create(username="fuzz-admin", password=PASSWORD, role=Role.SUPER_ADMIN)
    technician = user_create(username="fuzz-tech", password=PASSWORD, role=Role.TECHNICIAN)
    other_technician = user_create(username="fuzz-tech2", password=PASSWORD, role=Role.TECHNICIAN)
    customer = invoice_helpers.owner("fuzz-customer")
    other_customer = invoice_helpers.owner("fuzz-other")
    invoice_helpers.seller()
    _notice = importlib.import_module("privacy.migrations.0004_privacy_notice_v1")
    # Seeded by that migration; a transactional test's flush may have removed it.
    PrivacyNotice.objects.get_or_create(version="1", defaults={"text": _notice.NOTICE})
    service = ServiceFactory()
    inactive_service = catalogue.service_update(
        service=ServiceFactory(), data={"is_active": False}
    )
    part = PartFactory(stock=50)
    inactive_part = catalogue.part_update(part=PartFactory(), data={"is_active": False})
    own = _customer_objects(
        admin=admin, owner=customer, technician=technician, service=service, part=part, slot=0
    )
    other = _customer_objects(
        admin=admin,
        owner=other_customer,
        technician=other_technician,
        service=service,
        part=part,
        slot=1,
    )
    world.ids = {kind: {"own": own[kind], "other": other[kind]} for kind in own}
    world.ids["service"] = {"own": service.pk, "other": inactive_service.pk}
    world.ids["part"] = {"own": part.pk, "other": inactive_part.pk}
    world.ids["alert"] = _pair(_alert(n) for n in (1, 2))
    world.ids["incident"] = _pair(
        incident_services.incident_open(
            user=admin, title=f"Incident {n}", occurred_from=timezone.now() - timedelta(hours=1)
        ).pk
        for n in (1, 2)
    )
    world.users = {
        "customer": customer,
        "technician": technician,
        "super_admin": admin,
        "other_customer": other_customer,
    }
    world.tokens = {role: token_pair(user)["access"] for role, user in world.users.items()}
    return world
