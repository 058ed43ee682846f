"""One input rule: undeclared fields are refused, dates stay within plausible years."""

import importlib
import pkgutil
import re
from datetime import UTC

import pytest
from django.apps import apps
from django.conf import settings
from rest_framework import serializers

from config.serializers import RejectUnknownFieldsMixin
from garage.models import Appointment, LineApproval, ServiceOrder
from garage.tests.factories import VehicleFactory, customer_user
from garage.tests.order_helpers import order_in
from garage.tests.test_appointments_api import slot_at

pytestmark = pytest.mark.django_db

Status = ServiceOrder.Status
RFC3339_OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")


def serializer_modules():
    """Every project app's serializers (a module or a package of them): new apps included."""
    for app in apps.get_app_configs():
        if not app.path.startswith(str(settings.BASE_DIR)):
            continue
        try:
            module = importlib.import_module(f"{app.name}.serializers")
        except ModuleNotFoundError:
            continue
        yield module.__name__
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            yield f"{module.__name__}.{info.name}"


def input_serializers():
    for module_name in serializer_modules():
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, serializers.Serializer)
                and value.__module__ == module_name
                and re.search(r"(Input|Query|Create)Serializer$", name)
            ):
                yield value


def test_every_input_serializer_follows_the_one_rule():
    classes = list(input_serializers())
    assert len(classes) > 20

    assert [c.__name__ for c in classes if not issubclass(c, RejectUnknownFieldsMixin)] == []


@pytest.mark.parametrize("field", ["customer", "status", "technician"])
def test_booking_with_an_undeclared_field_is_refused(auth_client, field):
    alice = customer_user("alice")
    vehicle = VehicleFactory(customer=alice.customer)
    body = {"vehicle": vehicle.pk, "start": slot_at().isoformat(), field: 1}

    response = auth_client(alice).post("/api/appointments/", body, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert not Appointment.objects.exists()


def test_deciding_lines_with_a_unit_price_is_refused(auth_client, super_admin):
    owner = customer_user("owner")
    order = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)
    line = order.labour_lines.get()

    response = auth_client(owner).post(
        f"/api/service-orders/{order.pk}/lines/decide/",
        {"labour": {str(line.pk): "approved"}, "unit_price": "0.001"},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["unit_price"]
    line.refresh_from_db()
    assert line.approval != LineApproval.APPROVED


def test_approving_with_a_status_is_refused(auth_client, super_admin):
    owner = customer_user("owner")
    order = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)

    response = auth_client(owner).post(
        f"/api/service-orders/{order.pk}/approve/", {"status": "delivered"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["status"]
    order.refresh_from_db()
    assert order.status == Status.ESTIMATE_SENT


def test_approving_without_a_body_still_works(auth_client, super_admin):
    owner = customer_user("owner")
    order = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)

    response = auth_client(owner).post(f"/api/service-orders/{order.pk}/approve/")

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("recorded_on", ["0001-01-01", "1899-12-31", "2101-01-01"])
def test_an_odometer_reading_in_an_implausible_year_is_refused(auth_client, recorded_on):
    alice = customer_user("alice")
    vehicle = VehicleFactory(customer=alice.customer)

    response = auth_client(alice).post(
        f"/api/vehicles/{vehicle.pk}/odometer/",
        {"km": 1000, "recorded_on": recorded_on},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["recorded_on"]
    assert not vehicle.odometer_readings.exists()


@pytest.mark.parametrize("day", ["0028-12-09", "0001-01-01", "9999-12-31"])
def test_availability_of_an_implausible_year_is_refused(auth_client, day):
    response = auth_client(customer_user("alice")).get(
        "/api/appointments/availability/", {"date": day}
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["date"]


def test_availability_answers_rfc_3339_datetimes(auth_client):
    day = slot_at(days_ahead=7).date().isoformat()  # an opening day

    response = auth_client(customer_user("alice")).get(
        "/api/appointments/availability/", {"date": day}
    )

    assert response.status_code == 200, response.content
    starts = [slot["start"] for slot in response.json()]
    assert starts
    assert all(RFC3339_OFFSET.search(start) for start in starts), starts


@pytest.mark.parametrize("spelling", ["tunis", "utc", "zulu"])
def test_booking_accepts_rfc_3339_offsets(auth_client, spelling):
    alice = customer_user("alice")
    vehicle = VehicleFactory(customer=alice.customer)
    in_utc = slot_at().astimezone(UTC).isoformat()
    text = {
        "tunis": slot_at().isoformat(),
        "utc": in_utc,
        "zulu": in_utc.replace("+00:00", "Z"),
    }[spelling]

    response = auth_client(alice).post(
        "/api/appointments/", {"vehicle": vehicle.pk, "start": text}, format="json"
    )

    assert response.status_code == 201, response.content
