"""Service orders through the API: opening, lists and scope, lines, stock, assignment, notes."""

import json
import threading
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from garage.models import (
    LabourLine,
    LineApproval,
    OdometerReading,
    Part,
    PartLine,
    ServiceOrder,
    StockMovement,
)
from garage.services import orders as services
from garage.services.vehicles import odometer_record
from garage.tests.factories import (
    PartFactory,
    ServiceFactory,
    VehicleFactory,
    customer_user,
)
from garage.tests.order_helpers import (
    order_in,
    order_open,
    order_with_lines,
    owner_vehicle,
    technician_user,
)

pytestmark = pytest.mark.django_db
Status = ServiceOrder.Status
URL = "/api/service-orders/"


def detail(order):
    return f"{URL}{order.pk}/"


@pytest.fixture
def owner(db):
    return customer_user("alice")


@pytest.fixture
def stranger(db):
    return customer_user("bob")


@pytest.fixture
def tech2(db):
    return technician_user("tech2")


# --- Opening an order ----------------------------------------------------------------------------


def test_super_admin_opens_an_order_and_the_odometer_is_recorded(auth_client, super_admin, owner):
    vehicle = owner_vehicle(owner)

    response = auth_client(super_admin).post(
        URL, {"vehicle": vehicle.pk, "complaint": "Squeaking brakes", "odometer_in": 52000}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["complaint"] == "Squeaking brakes"
    assert body["vehicle"]["last_odometer_km"] == 52000
    assert body["customer"] == {"id": owner.customer.pk, "full_name": owner.customer.full_name}
    order = ServiceOrder.objects.get(pk=body["id"])
    assert (order.customer, order.vehicle, order.created_by) == (
        owner.customer,
        vehicle,
        super_admin,
    )
    reading = OdometerReading.objects.get(vehicle=vehicle)
    assert (reading.km, reading.source) == (52000, OdometerReading.Source.SERVICE_ORDER)
    entry = LogEntry.objects.get_for_object(order).get(action=LogEntry.Action.CREATE)
    assert entry.actor == super_admin
    assert "Squeaking" not in json.dumps(entry.changes)  # the complaint is encrypted: masked


def test_opening_with_a_lower_odometer_is_refused(auth_client, super_admin, owner):
    vehicle = owner_vehicle(owner)
    odometer_record(vehicle=vehicle, km=60000, actor=super_admin, source="customer")

    response = auth_client(super_admin).post(URL, {"vehicle": vehicle.pk, "odometer_in": 50000})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "odometer_decrease"
    assert "odometer_in" in body["errors"]
    assert not ServiceOrder.objects.exists()
    assert vehicle.odometer_readings.count() == 1


def test_opening_with_invalid_input_names_the_fields(auth_client, super_admin):
    response = auth_client(super_admin).post(
        URL, {"vehicle": 999999, "odometer_in": -5}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"vehicle", "odometer_in"}
    assert not ServiceOrder.objects.exists()


def test_opening_needs_authentication(api_client):
    assert api_client.post(URL, {}).status_code == 401
    assert api_client.get(URL).status_code == 401


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.CUSTOMER])
def test_only_super_admins_open_orders(auth_client, make_user, owner, role):
    vehicle = owner_vehicle(owner)
    user = make_user("someone", role)

    response = auth_client(user).post(URL, {"vehicle": vehicle.pk})

    assert response.status_code == 403
    assert not ServiceOrder.objects.exists()


# --- Lists and scope -----------------------------------------------------------------------------


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_each_role_lists_only_its_orders(
    auth_client, super_admin, technician, tech2, owner, stranger
):
    mine = order_open(super_admin, owner=owner)
    assigned = order_open(super_admin, owner=stranger)
    other = order_open(super_admin, owner=stranger)
    services.service_order_assign(actor=super_admin, order=assigned, technician_ids=[technician.pk])
    services.service_order_assign(actor=super_admin, order=other, technician_ids=[tech2.pk])

    assert ids(auth_client(super_admin).get(URL)) == {mine.pk, assigned.pk, other.pk}
    assert ids(auth_client(technician).get(URL)) == {assigned.pk}
    assert ids(auth_client(owner).get(URL)) == {mine.pk}


def test_a_customer_without_a_record_sees_nothing(auth_client, super_admin, customer, owner):
    order_open(super_admin, owner=owner)
    assert ids(auth_client(customer).get(URL)) == set()


def test_super_admin_filters_by_status_vehicle_and_technician(
    auth_client, super_admin, technician, owner
):
    vehicle = owner_vehicle(owner)
    first = order_open(super_admin, vehicle=vehicle)
    second = order_with_lines(super_admin, owner=owner)
    services.service_order_send_estimate(actor=super_admin, order=second)
    services.service_order_assign(actor=super_admin, order=second, technician_ids=[technician.pk])
    client = auth_client(super_admin)

    assert ids(client.get(URL, {"status": "draft"})) == {first.pk}
    assert ids(client.get(URL, {"status": "estimate_sent"})) == {second.pk}
    assert ids(client.get(URL, {"vehicle": vehicle.pk})) == {first.pk}
    assert ids(client.get(URL, {"technician": technician.pk})) == {second.pk}

    response = client.get(URL, {"status": "finished"})
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_orders_are_ordered_by_created_at_or_status(auth_client, super_admin, owner):
    draft = order_open(super_admin, owner=owner)
    sent = order_with_lines(super_admin, owner=owner)
    services.service_order_send_estimate(actor=super_admin, order=sent)
    client = auth_client(super_admin)

    def order_of(ordering):
        response = client.get(URL, {"ordering": ordering})
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert order_of("created_at") == [draft.pk, sent.pk]
    assert order_of("-created_at") == [sent.pk, draft.pk]
    assert order_of("status") == [draft.pk, sent.pk]  # "draft" < "estimate_sent"
    assert order_of("-status") == [sent.pk, draft.pk]


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"page_size": 100})
    assert response.status_code == 200
    return len(queries), response.json()["count"]


@pytest.mark.parametrize("role", ["super_admin", "technician", "customer"])
def test_order_list_runs_the_same_queries_for_1_and_50_orders(
    auth_client, super_admin, technician, owner, role
):
    viewer = {"super_admin": super_admin, "technician": technician, "customer": owner}[role]
    vehicle = owner_vehicle(owner)

    def add_orders(n):
        for _ in range(n):
            order = order_with_lines(super_admin, vehicle=vehicle)
            services.service_order_assign(
                actor=super_admin, order=order, technician_ids=[technician.pk]
            )

    client = auth_client(viewer)
    add_orders(1)
    client.get(URL)  # warm-up: nothing cached on the first request is counted
    one, count_one = _list_queries(client)
    add_orders(49)
    fifty, count_fifty = _list_queries(client)

    assert (count_one, count_fifty) == (1, 50)
    assert one == fifty


# --- One order: scope and what each role sees ----------------------------------------------------


def test_another_customers_order_is_not_found(auth_client, super_admin, owner, stranger):
    order = order_open(super_admin, owner=stranger)

    response = auth_client(owner).get(detail(order))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_another_technicians_order_is_not_found(auth_client, super_admin, technician, tech2):
    order = order_open(super_admin)
    services.service_order_assign(actor=super_admin, order=order, technician_ids=[tech2.pk])

    assert auth_client(technician).get(detail(order)).status_code == 404
    assert auth_client(tech2).get(detail(order)).status_code == 200


def test_an_unknown_order_is_not_found(auth_client, super_admin):
    assert auth_client(super_admin).get(f"{URL}999999/").status_code == 404


def test_reading_an_order_needs_authentication(api_client, super_admin):
    order = order_open(super_admin)
    assert api_client.get(detail(order)).status_code == 401


def _keys(value) -> set:
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


CONTACT_KEYS = {
    "phone",
    "phone_secondary",
    "email",
    "address",
    "national_id",
    "tax_id",
    "company_name",
    "documents",
    "preferred_contact",
}


def test_a_technician_sees_the_vehicle_and_the_customers_name_only(
    auth_client, super_admin, technician
):
    owner = customer_user("carol")
    customer = owner.customer
    customer.company_name = "Carol SARL"
    customer.tax_id = "1234567A/P/M/000"
    customer.save()
    vehicle = owner_vehicle(owner, plate="123 TU 4567", vin="VF1AB000123456789")
    order = order_open(super_admin, vehicle=vehicle, odometer_in=81234)
    services.service_order_assign(actor=super_admin, order=order, technician_ids=[technician.pk])

    response = auth_client(technician).get(detail(order))

    assert response.status_code == 200
    body = response.json()
    assert body["vehicle"] == {
        "id": vehicle.pk,
        "make": "Renault",
        "model": "Clio",
        "plate": "123 TU 4567",
        "vin": "VF1AB000123456789",
        "last_odometer_km": 81234,
    }
    assert body["customer"] == {"full_name": customer.full_name}
    assert not (_keys(body) & CONTACT_KEYS)
    assert not ({"totals", "approved_ip", "approved_by"} & set(body))
    raw = response.content.decode()
    for value in (
        customer.phone,
        customer.email,
        customer.national_id,
        customer.address,
        customer.tax_id,
        customer.company_name,
    ):
        assert value not in raw
    # The list shows the same restricted shape.
    listed = auth_client(technician).get(URL).json()["results"][0]
    assert listed == body


def test_a_customer_sees_their_order_with_notes_and_totals_but_no_staff_details(
    auth_client, super_admin, technician, owner
):
    order = order_in(Status.IN_PROGRESS, super_admin, owner=owner, technicians=[technician])
    services.service_order_note_add(actor=technician, order=order, text="Pads worn to 2 mm")

    body = auth_client(owner).get(detail(order)).json()

    assert "Pads worn to 2 mm" in body["technician_notes"]
    assert "totals" in body
    assert not ({"technicians", "approved_ip", "approved_by", "customer"} & set(body))
    assert set(body["vehicle"]) == {"id", "make", "model", "plate", "year"}


# --- Totals --------------------------------------------------------------------------------------


def test_totals_round_half_up_per_line_and_leave_declined_lines_out(
    auth_client, super_admin, owner
):
    order = order_open(super_admin, owner=owner)
    labour = ServiceFactory(labour_price=Decimal("45.000"), tva_rate=Decimal("19.00"))
    odd = ServiceFactory(labour_price=Decimal("10.002"), tva_rate=Decimal("19.00"))
    part = PartFactory(unit_price=Decimal("12.345"), tva_rate=Decimal("7.00"))
    services.service_order_labour_line_add(
        actor=super_admin, order=order, service=labour, hours=Decimal("1.50")
    )
    services.service_order_labour_line_add(
        actor=super_admin, order=order, service=odd, hours=Decimal("0.25")
    )
    services.service_order_part_line_add(actor=super_admin, order=order, part=part, quantity=3)
    declined = services.service_order_part_line_add(
        actor=super_admin, order=order, part=PartFactory(), quantity=1
    )
    services.service_order_send_estimate(actor=super_admin, order=order)
    services.service_order_lines_decide(
        actor=owner, order=order, labour={}, parts={declined.pk: LineApproval.DECLINED}
    )

    body = auth_client(owner).get(detail(order)).json()

    # 0.25 h x 10.002 = 2.5005, rounded half up (not to even) to 2.501.
    assert [line["total"] for line in body["labour_lines"]] == ["67.500", "2.501"]
    assert [line["total"] for line in body["part_lines"]] == ["37.035", "12.500"]
    assert body["totals"] == {
        "labour": "70.001",
        "parts": "37.035",
        "total_excl_tax": "107.036",
        "tva": [
            {"rate": "7.00", "base": "37.035", "amount": "2.592"},
            {"rate": "19.00", "base": "70.001", "amount": "13.300"},
        ],
        "total_tva": "15.892",
        "total": "122.928",
    }


# --- Labour lines --------------------------------------------------------------------------------


def labour_url(order):
    return f"{detail(order)}labour-lines/"


def test_super_admin_adds_labour_to_an_estimate_at_catalogue_prices(
    auth_client, super_admin, owner
):
    order = order_open(super_admin, owner=owner)
    service = ServiceFactory(
        name="Brake pads", labour_price=Decimal("38.500"), tva_rate=Decimal("19.00")
    )

    response = auth_client(super_admin).post(
        labour_url(order), {"service": service.pk, "hours": "2.00"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["unit_price"] == "38.500"
    assert body["tva_rate"] == "19.00"
    assert body["description"] == "Brake pads"
    assert body["approval"] == "pending"
    assert body["total"] == "77.000"
    # A later price change does not touch the line.
    service.labour_price = Decimal("50.000")
    service.save()
    assert LabourLine.objects.get(pk=body["id"]).unit_price == Decimal("38.500")


def test_assigned_technician_records_labour_during_the_work(auth_client, super_admin, technician):
    order = order_in(Status.IN_PROGRESS, super_admin, technicians=[technician])
    service = ServiceFactory()

    response = auth_client(technician).post(
        labour_url(order), {"service": service.pk, "hours": "0.75", "description": "Bleed"}
    )

    assert response.status_code == 201, response.content
    line = LabourLine.objects.get(pk=response.json()["id"])
    assert (line.hours, line.description, line.added_by) == (Decimal("0.75"), "Bleed", technician)
    assert line.approval == LineApproval.APPROVED


def test_a_technician_cannot_add_labour_to_an_estimate(auth_client, super_admin, technician):
    order = order_open(super_admin)
    services.service_order_assign(actor=super_admin, order=order, technician_ids=[technician.pk])

    response = auth_client(technician).post(
        labour_url(order), {"service": ServiceFactory().pk, "hours": "1"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_state"
    assert not order.labour_lines.exists()


def test_labour_lines_refuse_customers_strangers_and_bad_input(
    auth_client, super_admin, technician, tech2, owner
):
    order = order_in(Status.IN_PROGRESS, super_admin, owner=owner, technicians=[tech2])
    service = ServiceFactory()
    before = order.labour_lines.count()

    payload = {"service": service.pk, "hours": "1"}
    assert auth_client(owner).post(labour_url(order), payload).status_code == 403
    assert auth_client(technician).post(labour_url(order), payload).status_code == 404
    bad = auth_client(tech2).post(labour_url(order), {"service": 999999, "hours": "0"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"service", "hours"}
    service.is_active = False
    service.save()
    inactive = auth_client(tech2).post(labour_url(order), {"service": service.pk, "hours": "1"})
    assert inactive.status_code == 400
    assert "service" in inactive.json()["errors"]
    assert order.labour_lines.count() == before


def test_assigned_technician_changes_the_hours_while_in_progress(
    auth_client, super_admin, technician
):
    order = order_in(Status.IN_PROGRESS, super_admin, technicians=[technician])
    line = order.labour_lines.get()
    url = f"{labour_url(order)}{line.pk}/"

    response = auth_client(technician).patch(url, {"hours": "2.25"})

    assert response.status_code == 200, response.content
    assert response.json()["hours"] == "2.25"
    line.refresh_from_db()
    assert line.hours == Decimal("2.25")
    entry = LogEntry.objects.get_for_object(line).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == technician


def test_changing_hours_is_refused_outside_the_work_or_on_another_order(
    auth_client, super_admin, technician
):
    approved = order_in(Status.APPROVED, super_admin, technicians=[technician])
    working = order_in(Status.IN_PROGRESS, super_admin, technicians=[technician])
    client = auth_client(technician)

    not_yet = client.patch(
        f"{labour_url(approved)}{approved.labour_lines.get().pk}/", {"hours": "3"}
    )
    assert not_yet.status_code == 400
    assert not_yet.json()["code"] == "invalid_state"
    # A line of one order reached through another order's URL.
    crossed = client.patch(
        f"{labour_url(working)}{approved.labour_lines.get().pk}/", {"hours": "3"}
    )
    assert crossed.status_code == 404
    empty = client.patch(f"{labour_url(working)}{working.labour_lines.get().pk}/", {})
    assert empty.status_code == 400
    assert approved.labour_lines.get().hours == Decimal("1.50")


# --- Part lines and stock ------------------------------------------------------------------------


def part_url(order):
    return f"{detail(order)}part-lines/"


def test_parts_added_during_the_work_are_taken_from_stock_at_once(
    auth_client, super_admin, technician
):
    order = order_in(Status.IN_PROGRESS, super_admin, technicians=[technician])
    part = PartFactory(stock=5, unit_price=Decimal("8.250"), tva_rate=Decimal("7.00"))

    response = auth_client(technician).post(part_url(order), {"part": part.pk, "quantity": 2})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["consumed"], body["unit_price"], body["tva_rate"]) == (True, "8.250", "7.00")
    part.refresh_from_db()
    assert part.stock == 3
    movement = StockMovement.objects.get(part=part)
    assert (movement.kind, movement.quantity, movement.stock_after) == ("used", -2, 3)
    assert (movement.reason, movement.actor, movement.service_order) == (
        f"service order {order.pk}",
        technician,
        order,
    )


def test_a_part_short_of_stock_is_refused_and_no_line_is_left(auth_client, super_admin, technician):
    order = order_in(Status.WAITING_PARTS, super_admin, technicians=[technician])
    part = PartFactory(stock=1)
    lines = order.part_lines.count()

    response = auth_client(technician).post(part_url(order), {"part": part.pk, "quantity": 2})

    assert response.status_code == 400
    assert response.json()["code"] == "insufficient_stock"
    assert order.part_lines.count() == lines
    part.refresh_from_db()
    assert part.stock == 1
    assert not StockMovement.objects.filter(part=part).exists()


def test_parts_on_an_estimate_take_no_stock_yet(auth_client, super_admin):
    order = order_open(super_admin)
    part = PartFactory(stock=0)

    response = auth_client(super_admin).post(part_url(order), {"part": part.pk, "quantity": 4})

    assert response.status_code == 201
    assert response.json()["consumed"] is False
    part.refresh_from_db()
    assert part.stock == 0


def test_part_lines_refuse_bad_input_customers_and_strangers(
    auth_client, super_admin, technician, tech2, owner
):
    order = order_in(Status.IN_PROGRESS, super_admin, owner=owner, technicians=[tech2])
    part = PartFactory()

    bad = auth_client(tech2).post(part_url(order), {"part": part.pk, "quantity": 0})
    assert bad.status_code == 400
    assert "quantity" in bad.json()["errors"]
    payload = {"part": part.pk, "quantity": 1}
    assert auth_client(owner).post(part_url(order), payload).status_code == 403
    assert auth_client(technician).post(part_url(order), payload).status_code == 404
    assert not PartLine.objects.filter(part=part).exists()


@pytest.mark.django_db(transaction=True)
def test_two_technicians_taking_the_last_unit_at_once_one_succeeds(
    auth_client, super_admin, technician, tech2
):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's shared in-memory test database raises 'database table is locked'.")
    first = order_in(Status.IN_PROGRESS, super_admin, technicians=[technician])
    second = order_in(Status.IN_PROGRESS, super_admin, technicians=[tech2])
    part = PartFactory(stock=1)
    clients = [(auth_client(technician), first), (auth_client(tech2), second)]
    barrier = threading.Barrier(len(clients))
    statuses = []
    lock = threading.Lock()

    def add_last_unit(client, order):
        try:
            barrier.wait(timeout=10)
            response = client.post(part_url(order), {"part": part.pk, "quantity": 1})
            with lock:
                statuses.append((response.status_code, response.json().get("code")))
        finally:
            connection.close()

    threads = [threading.Thread(target=add_last_unit, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses, key=lambda s: s[0]) == [(201, None), (400, "insufficient_stock")]
    assert Part.objects.get(pk=part.pk).stock == 0
    assert PartLine.objects.filter(part=part).count() == 1
    assert StockMovement.objects.filter(part=part).count() == 1


# --- Assignment ----------------------------------------------------------------------------------


def assign_url(order):
    return f"{detail(order)}assign/"


def test_super_admin_assigns_technicians(auth_client, super_admin, technician, tech2):
    order = order_open(super_admin)
    services.service_order_assign(actor=super_admin, order=order, technician_ids=[tech2.pk])
    client = auth_client(super_admin)
    before = LogEntry.objects.order_by("-id").first().pk

    response = client.post(assign_url(order), {"technicians": [technician.pk]}, format="json")

    assert response.status_code == 200, response.content
    assert [t["username"] for t in response.json()["technicians"]] == ["tech1"]
    assert list(order.technicians.all()) == [technician]
    changes = {
        e.changes["technicians"]["operation"]: e.changes["technicians"]["objects"]
        for e in LogEntry.objects.get_for_object(order).filter(actor=super_admin, pk__gt=before)
        if "technicians" in (e.changes or {})
    }
    assert changes == {"add": [f"user #{technician.pk}"], "delete": [f"user #{tech2.pk}"]}


def test_only_active_technicians_can_be_assigned(auth_client, super_admin, owner, make_user):
    order = order_open(super_admin)
    retired = technician_user("retired")
    retired.is_active = False
    retired.save()
    admin2 = make_user("admin2", Role.SUPER_ADMIN)
    client = auth_client(super_admin)

    for user_ids in ([owner.pk], [retired.pk], [admin2.pk], [999999]):
        response = client.post(assign_url(order), {"technicians": user_ids}, format="json")
        assert response.status_code == 400, user_ids
        assert "technicians" in response.json()["errors"]
    empty = client.post(assign_url(order), {"technicians": []}, format="json")
    assert empty.status_code == 400
    assert not order.technicians.exists()


def test_technicians_and_customers_cannot_assign(auth_client, super_admin, technician, owner):
    order = order_open(super_admin, owner=owner)
    services.service_order_assign(actor=super_admin, order=order, technician_ids=[technician.pk])

    for user in (technician, owner):
        response = auth_client(user).post(
            assign_url(order), {"technicians": [technician.pk]}, format="json"
        )
        assert response.status_code == 403


# --- Notes ---------------------------------------------------------------------------------------


def notes_url(order):
    return f"{detail(order)}notes/"


def test_assigned_technician_appends_stamped_notes(auth_client, super_admin, technician):
    order = order_in(Status.IN_PROGRESS, super_admin, technicians=[technician])
    client = auth_client(technician)

    assert client.post(notes_url(order), {"text": "Front pads worn"}).status_code == 200
    response = client.post(notes_url(order), {"text": "Discs fine"})

    assert response.status_code == 200
    lines = response.json()["technician_notes"].splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(f" Technician #{technician.pk}] Front pads worn")
    assert lines[1].endswith(f" Technician #{technician.pk}] Discs fine")
    assert lines[0].startswith("[20")
    order.refresh_from_db()
    assert order.technician_notes == "\n".join(lines)


def test_notes_are_refused_outside_the_work_and_for_customers(
    auth_client, super_admin, technician, tech2, owner
):
    approved = order_in(Status.APPROVED, super_admin, owner=owner, technicians=[technician])
    working = order_in(Status.IN_PROGRESS, super_admin, owner=owner, technicians=[technician])

    not_yet = auth_client(technician).post(notes_url(approved), {"text": "x"})
    assert not_yet.status_code == 400
    assert not_yet.json()["code"] == "invalid_state"
    assert auth_client(owner).post(notes_url(working), {"text": "x"}).status_code == 403
    assert auth_client(tech2).post(notes_url(working), {"text": "x"}).status_code == 404
    blank = auth_client(technician).post(notes_url(working), {"text": ""})
    assert blank.status_code == 400
    assert "text" in blank.json()["errors"]
    working.refresh_from_db()
    assert working.technician_notes == ""


def test_a_vehicle_of_another_customer_is_opened_for_its_owner(auth_client, super_admin, owner):
    # The owner comes from the vehicle, never from the request.
    vehicle = VehicleFactory(customer=owner.customer)
    client = auth_client(super_admin)
    refused = client.post(URL, {"vehicle": vehicle.pk, "customer": 12345}, format="json")
    response = client.post(URL, {"vehicle": vehicle.pk}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["customer"]
    assert response.status_code == 201
    assert ServiceOrder.objects.get().customer == owner.customer
