"""A vehicle's service history and next-service reminder, for its owner and super-admins."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from garage.models import LineApproval, OdometerReading, ServiceOrder
from garage.services import orders as services
from garage.services.vehicles import odometer_record
from garage.tests.factories import PartFactory, ServiceFactory, customer_user
from garage.tests.order_helpers import order_in, order_open, owner_vehicle

pytestmark = pytest.mark.django_db
Status = ServiceOrder.Status


def history_url(vehicle):
    return f"/api/vehicles/{vehicle.pk}/history/"


@pytest.fixture
def owner(db):
    return customer_user("alice")


@pytest.fixture
def vehicle(owner):
    return owner_vehicle(owner, plate="245 TU 8812")


def test_owner_sees_completed_work_and_the_next_service(auth_client, super_admin, owner, vehicle):
    old = order_in(Status.DELIVERED, super_admin, vehicle=vehicle, odometer_in=30000)
    recent = order_in(Status.COMPLETED, super_admin, vehicle=vehicle, odometer_in=41000)
    order_in(Status.IN_PROGRESS, super_admin, vehicle=vehicle, odometer_in=42000)
    order_in(Status.CANCELLED, super_admin, vehicle=vehicle)

    response = auth_client(owner).get(history_url(vehicle))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == vehicle.pk
    assert body["plate"] == "245 TU 8812"
    assert body["last_odometer_km"] == 42000
    assert body["next_service_date"] == str(timezone.localdate() + timedelta(days=365))
    assert body["next_service_km"] == 51000
    assert body["next_service_due"] is False
    assert [o["id"] for o in body["orders"]] == [recent.pk, old.pk]
    first = body["orders"][0]
    recent.refresh_from_db()
    assert first["odometer_in"] == 41000
    assert first["status"] == "completed"
    assert parse_datetime(first["date"]) == recent.completed_at
    assert [line["hours"] for line in first["labour_lines"]] == ["1.50"]
    assert [line["quantity"] for line in first["part_lines"]] == [1]
    assert first["totals"]["total"] == "95.200"  # (67.500 + 12.500) x 1.19, rounded half up
    assert body["orders"][1]["delivered_at"] is not None


def test_declined_lines_are_not_part_of_the_history(auth_client, super_admin, owner, vehicle):
    order = order_open(super_admin, vehicle=vehicle)
    services.service_order_labour_line_add(
        actor=super_admin, order=order, service=ServiceFactory(name="Oil change"), hours=Decimal(1)
    )
    declined = services.service_order_part_line_add(
        actor=super_admin, order=order, part=PartFactory(name="Wiper blades"), quantity=2
    )
    services.service_order_send_estimate(actor=super_admin, order=order)
    services.service_order_lines_decide(
        actor=owner, order=order, labour={}, parts={declined.pk: LineApproval.DECLINED}
    )
    for step in ("approve", "start", "complete"):
        order = getattr(services, f"service_order_{step}")(actor=super_admin, order=order)

    body = auth_client(owner).get(history_url(vehicle)).json()

    (entry,) = body["orders"]
    assert [line["description"] for line in entry["labour_lines"]] == ["Oil change"]
    assert entry["part_lines"] == []
    assert "Wiper blades" not in str(body)


def test_the_next_service_is_due_by_date_or_by_mileage(auth_client, owner, vehicle, super_admin):
    client = auth_client(owner)
    vehicle.next_service_date = timezone.localdate() + timedelta(days=30)
    vehicle.next_service_km = 60000
    vehicle.save()
    odometer_record(vehicle=vehicle, km=59000, actor=owner, source=OdometerReading.Source.CUSTOMER)
    assert client.get(history_url(vehicle)).json()["next_service_due"] is False

    odometer_record(vehicle=vehicle, km=60100, actor=owner, source=OdometerReading.Source.CUSTOMER)
    assert client.get(history_url(vehicle)).json()["next_service_due"] is True

    vehicle.next_service_km = 90000
    vehicle.next_service_date = timezone.localdate()
    vehicle.save()
    assert client.get(history_url(vehicle)).json()["next_service_due"] is True


def test_a_vehicle_without_work_has_an_empty_history(auth_client, owner, vehicle):
    body = auth_client(owner).get(history_url(vehicle)).json()

    assert body["orders"] == []
    assert (body["next_service_date"], body["next_service_km"]) == (None, None)
    assert body["last_odometer_km"] is None
    assert body["next_service_due"] is False


def test_super_admin_reads_any_vehicles_history(auth_client, super_admin, vehicle):
    order = order_in(Status.COMPLETED, super_admin, vehicle=vehicle)

    response = auth_client(super_admin).get(history_url(vehicle))

    assert response.status_code == 200
    assert [o["id"] for o in response.json()["orders"]] == [order.pk]


def test_another_customers_vehicle_is_not_found(auth_client, super_admin, vehicle):
    order_in(Status.COMPLETED, super_admin, vehicle=vehicle)
    stranger = customer_user("bob")

    response = auth_client(stranger).get(history_url(vehicle))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert auth_client(stranger).get("/api/vehicles/999999/history/").status_code == 404


def test_technicians_do_not_read_history_even_of_a_vehicle_they_work_on(
    auth_client, super_admin, technician, vehicle
):
    order_in(Status.COMPLETED, super_admin, vehicle=vehicle, technicians=[technician])

    response = auth_client(technician).get(history_url(vehicle))

    assert response.status_code == 403


def test_history_needs_authentication(api_client, vehicle):
    assert api_client.get(history_url(vehicle)).status_code == 401


def test_history_runs_the_same_queries_for_1_and_50_orders(
    auth_client, super_admin, owner, vehicle
):
    client = auth_client(owner)

    def measure():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(history_url(vehicle))
        assert response.status_code == 200
        return len(queries), len(response.json()["orders"])

    order_in(Status.COMPLETED, super_admin, vehicle=vehicle)
    client.get(history_url(vehicle))  # warm-up
    one = measure()
    for _ in range(49):
        order_in(Status.COMPLETED, super_admin, vehicle=vehicle)
    fifty = measure()

    assert (one[1], fifty[1]) == (1, 50)
    assert one[0] == fifty[0]
