"""Reads of vehicles, their odometer readings and documents, scoped to the caller."""

import django_filters
from django.db.models import OuterRef, Subquery
from django.http import Http404

from accounts.models import Role
from config.filters import IdFilter
from garage.models import OdometerReading, Vehicle, VehicleDocument


class VehicleFilter(django_filters.FilterSet):
    """Filters of the vehicle list: non-personal fields only (plate and VIN: vehicle_search)."""

    customer = IdFilter(field_name="customer_id", help_text="Owner's id.")

    class Meta:
        model = Vehicle
        fields = ["fuel", "year"]


_LAST_READING = OdometerReading.objects.filter(vehicle=OuterRef("pk")).order_by(
    "-recorded_on", "-id"
)
# Every vehicle with its last odometer reading (the one odometer_record compares against).
# Built once: resolving the two subqueries anew on every request cost more than running them;
# each use clones it (never evaluated here).
_VEHICLES = Vehicle.objects.annotate(
    last_odometer_km=Subquery(_LAST_READING.values("km")[:1]),
    last_odometer_on=Subquery(_LAST_READING.values("recorded_on")[:1]),
)


def vehicle_list(*, user):
    """The vehicles the caller may see: all for super-admins, their own for a customer.

    Technicians reach vehicles only through the service orders assigned to them.
    """
    if user.role == Role.SUPER_ADMIN:
        return _VEHICLES.all()
    if user.role == Role.CUSTOMER:
        return _VEHICLES.filter(customer__user=user)
    return _VEHICLES.none()


def vehicle_search(*, user, filters: dict):
    """The caller's visible vehicles matching every given exact plate/VIN, through blind indexes."""
    lookups = {key: value for key, value in filters.items() if value}
    return vehicle_list(user=user).blind_lookup(**lookups).order_by("pk")


def vehicle_get(*, user, pk) -> Vehicle:
    """One vehicle the caller may see; another customer's vehicle is a 404."""
    vehicle = vehicle_list(user=user).filter(pk=pk).first()
    if vehicle is None:
        raise Http404
    return vehicle


def odometer_reading_list(*, vehicle: Vehicle):
    """A vehicle's readings, latest first (the vehicle is already scoped by vehicle_get)."""
    return vehicle.odometer_readings.order_by("-recorded_on", "-id")


def vehicle_document_list(*, vehicle: Vehicle):
    """A vehicle's documents with their stored-file metadata (one query for any number)."""
    return vehicle.documents.select_related("file").order_by("-uploaded_at", "-id")


def vehicle_document_get(*, vehicle: Vehicle, pk) -> VehicleDocument:
    """One document of a vehicle the caller may see; anything else is a 404."""
    document = vehicle_document_list(vehicle=vehicle).filter(pk=pk).first()
    if document is None:
        raise Http404
    return document
