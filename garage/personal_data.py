"""The personal data of the garage app: export, erasure (privacy registry)."""

from django.db import transaction
from django.db.models import F

from garage.models import (
    Appointment,
    AppointmentSlot,
    Customer,
    LabourLine,
    OdometerReading,
    PartLine,
    ServiceOrder,
    StockMovement,
    Vehicle,
    VehicleDocument,
)
from privacy.erasure import ERASED, audit_scrub
from privacy.models import StoredFile
from privacy.registry import ErasureResult, PersonalDataSource, registry


def _customer(user) -> Customer | None:
    return Customer.objects.filter(user=user).first()


def _customer_export(user):
    customer = _customer(user)
    if customer is None:
        return
    yield {
        "id": customer.pk,
        "kind": customer.kind,
        "full_name": customer.full_name,
        "company_name": customer.company_name,
        "tax_id": customer.tax_id,
        "national_id": customer.national_id,
        "phone": customer.phone,
        "phone_secondary": customer.phone_secondary,
        "email": customer.email,
        "address": customer.address,
        "preferred_contact": customer.preferred_contact,
        "created_at": customer.created_at,
    }


def _customer_erase(user) -> ErasureResult:
    """Anonymise the record: it stays as the (nameless) party of kept orders and invoices."""
    customer = _customer(user)
    if customer is None:
        return ErasureResult()
    Customer.objects.filter(pk=customer.pk).update(
        user=None,
        full_name=ERASED,
        company_name="",
        tax_id=None,
        national_id=None,
        phone=None,
        phone_secondary=None,
        email=None,
        address="",
    )
    audit_scrub(Customer, [customer.pk])
    return ErasureResult(erased=1)


def _vehicles_export(user):
    vehicles = Vehicle.objects.filter(customer__user=user).prefetch_related("odometer_readings")
    for vehicle in vehicles.order_by("id"):
        yield {
            "id": vehicle.pk,
            "plate": vehicle.plate,
            "vin": vehicle.vin,
            "make": vehicle.make,
            "model": vehicle.model,
            "year": vehicle.year,
            "fuel": vehicle.fuel,
            "colour": vehicle.colour,
            "next_service_date": vehicle.next_service_date,
            "next_service_km": vehicle.next_service_km,
            "odometer": [
                {"km": r.km, "recorded_on": r.recorded_on, "source": r.source}
                for r in vehicle.odometer_readings.all()
            ],
        }


def _vehicles_erase(user) -> ErasureResult:
    """Vehicles without history are deleted; the others lose plate, VIN and colour."""
    vehicles = Vehicle.objects.filter(customer__user=user)
    pks = list(vehicles.values_list("pk", flat=True))
    with_history = set(
        ServiceOrder.objects.filter(vehicle_id__in=pks).values_list("vehicle_id", flat=True)
    )
    readings = list(OdometerReading.objects.filter(vehicle_id__in=pks).values_list("pk", flat=True))
    Vehicle.objects.filter(pk__in=with_history).update(plate=None, vin=None, colour="")
    Vehicle.objects.filter(pk__in=set(pks) - with_history).delete()
    # After the changes: django-auditlog's own rows for the deletions are scrubbed too.
    audit_scrub(Vehicle, pks)
    audit_scrub(OdometerReading, readings)
    return ErasureResult(erased=len(pks))


def _documents(user):
    return VehicleDocument.objects.filter(vehicle__customer__user=user).select_related("file")


def _documents_export(user):
    for document in _documents(user).order_by("id"):
        yield {
            "id": document.pk,
            "vehicle_id": document.vehicle_id,
            "kind": document.kind,
            "original_name": document.file.original_name,
            "content_type": document.file.content_type,
            "size": document.file.size,
            "uploaded_at": document.uploaded_at,
            "archive_name": _archive_name(document),
        }


def _archive_name(document) -> str:
    name = document.file.original_name.replace("/", "_").replace("\\", "_")
    return f"{document.pk}-{name}"


def _documents_files(user):
    for document in _documents(user).order_by("id"):
        stored = document.file
        yield _archive_name(document), stored.file.storage.iter_plaintext(stored.file.name)


def _documents_erase(user) -> ErasureResult:
    """Documents are destroyed: the encrypted file on disk, then the rows."""
    documents = list(_documents(user))
    pks = [document.pk for document in documents]
    VehicleDocument.objects.filter(pk__in=pks).delete()
    StoredFile.objects.filter(pk__in=[document.file_id for document in documents]).delete()
    audit_scrub(VehicleDocument, pks)
    for document in documents:
        # Only once the erasure is committed: a rolled-back erasure keeps its files.
        storage, name = document.file.file.storage, document.file.file.name
        transaction.on_commit(lambda storage=storage, name=name: storage.delete(name))
    return ErasureResult(erased=len(documents))


def _appointments_export(user):
    appointments = Appointment.objects.filter(customer__user=user).select_related("slot")
    for appointment in appointments.prefetch_related("services").order_by("id"):
        yield {
            "id": appointment.pk,
            "vehicle_id": appointment.vehicle_id,
            "slot": appointment.slot.start,
            "status": appointment.status,
            "services": [service.code for service in appointment.services.all()],
            "notes": appointment.notes,
            "created_at": appointment.created_at,
        }


def _appointments_erase(user) -> ErasureResult:
    appointments = Appointment.objects.filter(customer__user=user)
    for appointment in appointments.filter(status__in=Appointment.ACTIVE):
        AppointmentSlot.objects.filter(pk=appointment.slot_id, booked__gt=0).update(
            booked=F("booked") - 1
        )
    pks = list(appointments.values_list("pk", flat=True))
    Appointment.objects.filter(pk__in=pks).delete()
    audit_scrub(Appointment, pks)
    return ErasureResult(erased=len(pks))


def _orders(user):
    return ServiceOrder.objects.filter(customer__user=user)


def _orders_export(user):
    orders = _orders(user).prefetch_related("labour_lines", "part_lines__part").order_by("id")
    for order in orders.iterator(chunk_size=200):
        yield {
            "id": order.pk,
            "vehicle_id": order.vehicle_id,
            "status": order.status,
            "complaint": order.complaint,
            "odometer_in": order.odometer_in,
            "technician_notes": order.technician_notes,
            "approval_method": order.approval_method,
            "approved_at": order.approved_at,
            "approved_ip": order.approved_ip,
            "created_at": order.created_at,
            "completed_at": order.completed_at,
            "delivered_at": order.delivered_at,
            "labour_lines": [
                {
                    "description": line.description,
                    "hours": line.hours,
                    "unit_price": line.unit_price,
                    "tva_rate": line.tva_rate,
                    "approval": line.approval,
                }
                for line in order.labour_lines.all()
            ],
            "part_lines": [
                {
                    "part": line.part.name,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "tva_rate": line.tva_rate,
                    "approval": line.approval,
                }
                for line in order.part_lines.all()
            ],
        }


def _orders_erase(user) -> ErasureResult:
    """Orders stay as anonymous operational history: the free texts about the person go."""
    orders = _orders(user)
    pks = list(orders.values_list("pk", flat=True))
    orders.update(complaint="", technician_notes="", approved_ip=None)
    audit_scrub(ServiceOrder, pks)
    return ErasureResult(
        erased=len(pks),
        retained=len(pks),
        reason="Service orders are kept without personal data as the garage's work history.",
    )


registry.register(
    PersonalDataSource(
        name="customer",
        models=(Customer,),
        export=_customer_export,
        erase=_customer_erase,
        order=20,
    )
)
registry.register(
    PersonalDataSource(
        name="vehicles",
        models=(Vehicle, OdometerReading),
        export=_vehicles_export,
        erase=_vehicles_erase,
        order=30,
    )
)
registry.register(
    PersonalDataSource(
        name="documents",
        models=(VehicleDocument, StoredFile),
        export=_documents_export,
        erase=_documents_erase,
        files=_documents_files,
        order=40,
    )
)
registry.register(
    PersonalDataSource(
        name="appointments",
        models=(Appointment,),
        export=_appointments_export,
        erase=_appointments_erase,
        order=50,
    )
)
registry.register(
    PersonalDataSource(
        name="service_orders",
        models=(ServiceOrder, LabourLine, PartLine),
        export=_orders_export,
        erase=_orders_erase,
        order=60,
    )
)
# Staff actions on stock refer to the (anonymised, if erased) user id only.
registry.register(PersonalDataSource(name="stock_movements", models=(StockMovement,)))
