"""Appointments: booking a slot within capacity, and the requested → confirmed → … workflow."""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Role
from config.exceptions import ApplicationError
from garage.models import Appointment, AppointmentSlot, Customer, Service, Vehicle
from garage.services.orders import service_order_open

# --- Opening hours ------------------------------------------------------------------------------
# The workshop's week, kept here rather than in settings: Monday to Saturday, 08:00 to 18:00 Tunis
# time. Slots of settings.GARAGE_SLOT_MINUTES start at opening time; the last one ends at closing.
GARAGE_TIMEZONE = ZoneInfo("Africa/Tunis")
OPENING_WEEKDAYS = frozenset({0, 1, 2, 3, 4, 5})  # Monday = 0 … Saturday = 5
OPENING_TIME = time(8, 0)
CLOSING_TIME = time(18, 0)

Status = Appointment.Status


def slot_length() -> timedelta:
    return timedelta(minutes=settings.GARAGE_SLOT_MINUTES)


def slot_capacity() -> int:
    """Appointments one slot holds: one per bay."""
    return settings.GARAGE_BAYS


def day_slot_starts(day: date) -> list[datetime]:
    """The slot starts of one day (none on a closing day), as Tunis-time aware datetimes."""
    if day.weekday() not in OPENING_WEEKDAYS:
        return []
    start = datetime.combine(day, OPENING_TIME, tzinfo=GARAGE_TIMEZONE)
    closing = datetime.combine(day, CLOSING_TIME, tzinfo=GARAGE_TIMEZONE)
    starts = []
    while start + slot_length() <= closing:
        starts.append(start)
        start += slot_length()
    return starts


def _slot_error(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_slot", extra={"start": [message]})


def _check_slot_start(start: datetime) -> datetime:
    """A bookable start: a slot boundary inside opening hours, and not already begun."""
    if timezone.is_naive(start):
        start = timezone.make_aware(start, GARAGE_TIMEZONE)
    local = start.astimezone(GARAGE_TIMEZONE)
    if local not in day_slot_starts(local.date()):
        raise _slot_error(
            f"Pick the start of a {settings.GARAGE_SLOT_MINUTES}-minute slot within opening "
            "hours (Monday to Saturday, 08:00 to 18:00)."
        )
    if local <= timezone.now():
        raise _slot_error("This slot is in the past.")
    return local


def _unknown_vehicle() -> ApplicationError:
    # Same answer for a vehicle that does not exist and one of another customer: no oracle.
    return ApplicationError(
        "Invalid input.", code="invalid", extra={"vehicle": ["Unknown vehicle."]}
    )


def _slot_get_or_create(start: datetime) -> AppointmentSlot:
    """The slot row, created on first booking.

    When two first bookings race, the loser's INSERT fails on the unique `start`; get_or_create
    runs its INSERT in a savepoint and then reads the winner's row, so the loser carries on with
    the shared row and meets the capacity guard like any other booking.
    """
    slot, _ = AppointmentSlot.objects.get_or_create(start=start)
    return slot


@transaction.atomic
def appointment_book(
    *,
    actor,
    customer: Customer | None,
    vehicle: Vehicle | None,
    start: datetime,
    services: Sequence[Service] = (),
    notes: str = "",
) -> Appointment:
    """Book a slot for one of the customer's vehicles, if a bay is free at that time."""
    role = getattr(actor, "role", None)
    if role not in (Role.CUSTOMER, Role.SUPER_ADMIN):
        raise ApplicationError(
            "Only customers and the front desk book appointments.",
            code="permission_denied",
            status_code=403,
        )
    if customer is None or vehicle is None or vehicle.customer_id != customer.pk:
        raise _unknown_vehicle()
    if role == Role.CUSTOMER and customer.user_id != actor.pk:
        raise _unknown_vehicle()  # a customer books only for themselves
    inactive = [s.pk for s in services if not s.is_active]
    if inactive:
        raise ApplicationError(
            "Invalid input.",
            code="invalid",
            extra={"services": [f"Service {pk} is not offered any more." for pk in inactive]},
        )
    start = _check_slot_start(start)
    if Appointment.objects.filter(
        vehicle=vehicle, slot__start=start, status__in=Appointment.ACTIVE
    ).exists():
        raise ApplicationError(
            "This vehicle is already booked for this slot.",
            code="already_booked",
            extra={"start": ["This vehicle is already booked for this slot."]},
        )

    slot = _slot_get_or_create(start)
    # The guard against overbooking: a conditional increment. Under concurrent bookings the
    # database serialises the UPDATEs on the slot row, and each one re-checks `booked < capacity`
    # on the row as committed by the previous one, so at most `capacity` succeed.
    taken = AppointmentSlot.objects.filter(pk=slot.pk, booked__lt=slot_capacity()).update(
        booked=F("booked") + 1
    )
    if not taken:
        raise ApplicationError(
            "This slot is fully booked.",
            code="slot_full",
            extra={"start": ["No bay is free at this time; pick another slot."]},
        )
    appointment = Appointment.objects.create(
        customer=customer, vehicle=vehicle, slot=slot, notes=notes, created_by=actor
    )
    appointment.services.set(services)
    return appointment


def _require_super_admin(actor) -> None:
    if getattr(actor, "role", None) != Role.SUPER_ADMIN:
        raise ApplicationError(
            "Only the front desk may do this.", code="permission_denied", status_code=403
        )


def _release_slot(appointment: Appointment) -> None:
    AppointmentSlot.objects.filter(pk=appointment.slot_id, booked__gt=0).update(
        booked=F("booked") - 1
    )


def _transition(appointment: Appointment, *, allowed_from: tuple, to: str) -> Appointment:
    """Lock the appointment, check its current status and move it on (audited by save())."""
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if locked.status not in allowed_from:
        raise ApplicationError(
            f"An appointment that is {locked.get_status_display().lower()} cannot become "
            f"{Status(to).label.lower()}.",
            code="invalid_transition",
        )
    locked.status = to
    locked.save(update_fields=["status"])
    appointment.status = to
    return locked


@transaction.atomic
def appointment_confirm(*, actor, appointment: Appointment) -> Appointment:
    """The front desk accepts a requested appointment."""
    _require_super_admin(actor)
    _transition(appointment, allowed_from=(Status.REQUESTED,), to=Status.CONFIRMED)
    return appointment


@transaction.atomic
def appointment_cancel(*, actor, appointment: Appointment) -> Appointment:
    """Cancel before check-in (the customer or the front desk); the bay is freed."""
    owner = (
        Customer.objects.filter(pk=appointment.customer_id).values_list("user_id", flat=True).get()
    )
    if getattr(actor, "role", None) != Role.SUPER_ADMIN and (owner is None or owner != actor.pk):
        raise ApplicationError(
            "Only the customer or the front desk may cancel.",
            code="permission_denied",
            status_code=403,
        )
    _transition(appointment, allowed_from=(Status.REQUESTED, Status.CONFIRMED), to=Status.CANCELLED)
    _release_slot(appointment)
    return appointment


@transaction.atomic
def appointment_no_show(*, actor, appointment: Appointment) -> Appointment:
    """The customer did not come: only once the slot has begun; the bay is freed."""
    _require_super_admin(actor)
    if appointment.slot.start > timezone.now():
        raise ApplicationError(
            "A no-show can only be recorded once the slot has begun.",
            code="invalid_transition",
        )
    _transition(appointment, allowed_from=(Status.CONFIRMED,), to=Status.NO_SHOW)
    _release_slot(appointment)
    return appointment


@transaction.atomic
def appointment_check_in(*, actor, appointment: Appointment, odometer_in: int | None = None):
    """The vehicle has arrived: the appointment is checked in and a service order is opened."""
    _require_super_admin(actor)
    _transition(appointment, allowed_from=(Status.CONFIRMED,), to=Status.CHECKED_IN)
    try:
        return service_order_open(
            actor=actor,
            vehicle=appointment.vehicle,
            appointment=appointment,
            complaint=appointment.notes,
            odometer_in=odometer_in,
        )
    except ApplicationError as exc:
        # The reading is refused under the name the check-in request uses for it.
        if exc.code == "odometer_decrease":
            exc.extra = {"odometer_in": exc.extra.get("km", [exc.message])}
        raise
