"""Service orders (job cards): opening, lines, assignment and the status workflow."""

from django.db import transaction

from garage.models import OdometerReading, ServiceOrder
from garage.services.vehicles import odometer_record


@transaction.atomic
def service_order_open(
    *, actor, vehicle, appointment=None, complaint: str = "", odometer_in: int | None = None
) -> ServiceOrder:
    """Open a draft service order for a vehicle (at the front desk or at check-in)."""
    if odometer_in is not None:
        odometer_record(
            vehicle=vehicle,
            km=odometer_in,
            actor=actor,
            source=OdometerReading.Source.SERVICE_ORDER,
        )
    return ServiceOrder.objects.create(
        customer=vehicle.customer,
        vehicle=vehicle,
        appointment=appointment,
        complaint=complaint,
        odometer_in=odometer_in,
        created_by=actor,
    )
