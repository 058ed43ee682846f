"""Vehicles, odometer readings and registration documents."""

from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from config.exceptions import ApplicationError
from garage.models import OdometerReading, Vehicle


@transaction.atomic
def odometer_record(
    *, vehicle: Vehicle, km: int, actor, source: str, recorded_on=None
) -> OdometerReading:
    """Record a reading; lower than the last one is refused unless a super-admin corrects it."""
    Vehicle.objects.select_for_update().filter(pk=vehicle.pk).first()
    last = vehicle.odometer_readings.order_by("-recorded_on", "-id").first()
    correcting = source == OdometerReading.Source.CORRECTION
    if correcting and getattr(actor, "role", None) != Role.SUPER_ADMIN:
        raise ApplicationError(
            "Only a super-admin may correct an odometer reading.",
            code="permission_denied",
            status_code=403,
        )
    if last is not None and km < last.km and not correcting:
        raise ApplicationError(
            "The odometer reading is lower than the last one.",
            code="odometer_decrease",
            extra={"km": [f"The last reading is {last.km} km."]},
        )
    return OdometerReading.objects.create(
        vehicle=vehicle,
        km=km,
        recorded_on=recorded_on or timezone.localdate(),
        source=source,
        recorded_by=actor,
    )
