"""Reads of appointments and slot availability, scoped to the caller."""

from datetime import date

from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Role
from garage.models import Appointment, AppointmentSlot, Customer, Vehicle
from garage.services.appointments import day_slot_starts, slot_capacity, slot_length


def appointment_list(*, user) -> QuerySet[Appointment]:
    """Customers see their own appointments, super-admins all; `start` is the slot's start."""
    appointments = Appointment.objects.all()
    if user.role == Role.CUSTOMER:
        appointments = appointments.filter(customer__user=user)
    elif user.role != Role.SUPER_ADMIN:
        return appointments.none()
    return (
        appointments.select_related("vehicle", "slot")
        .prefetch_related("services")
        # The order's id without loading the order (and decrypting its complaint) per row.
        .annotate(start=F("slot__start"), service_order_ref=F("service_order__id"))
        .order_by("start", "id")
    )


def appointment_get(*, user, pk) -> Appointment:
    appointment = appointment_list(user=user).filter(pk=pk).first()
    if appointment is None:
        raise Http404
    return appointment


def booking_customer_get(*, user, pk: int | None = None) -> Customer | None:
    """Whom a booking is for: a customer books for themselves, the front desk for anyone."""
    if user.role == Role.CUSTOMER:
        return Customer.objects.filter(user=user).first()
    if user.role == Role.SUPER_ADMIN and pk is not None:
        return Customer.objects.filter(pk=pk).first()
    return None


def booking_vehicle_get(*, customer: Customer | None, pk: int) -> Vehicle | None:
    """The customer's vehicle with that id, or None (also when it belongs to someone else)."""
    if customer is None:
        return None
    return Vehicle.objects.filter(pk=pk, customer=customer).first()


def slot_availability_list(*, day: date) -> list[dict]:
    """Every slot of a day with its capacity left; past or full slots are not bookable."""
    starts = day_slot_starts(day)
    if not starts:
        return []
    booked = dict(
        AppointmentSlot.objects.filter(start__gte=starts[0], start__lte=starts[-1]).values_list(
            "start", "booked"
        )
    )
    capacity = slot_capacity()
    now = timezone.now()
    slots = []
    for start in starts:
        remaining = max(capacity - booked.get(start, 0), 0)
        slots.append(
            {
                "start": start,
                "end": start + slot_length(),
                "capacity": capacity,
                "remaining": remaining,
                "bookable": remaining > 0 and start > now,
            }
        )
    return slots
