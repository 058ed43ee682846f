"""Appointments: booking within opening hours and capacity, the workflow, and who sees what."""

import threading
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from config.exceptions import ApplicationError
from garage.models import Appointment, AppointmentSlot, OdometerReading, ServiceOrder
from garage.services.appointments import (
    GARAGE_TIMEZONE,
    appointment_book,
    appointment_cancel,
    appointment_confirm,
)
from garage.services.catalogue import service_create
from garage.services.vehicles import odometer_record
from garage.tests.factories import VehicleFactory, customer_user

URL = "/api/appointments/"
AVAILABILITY = "/api/appointments/availability/"

ON_SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")

pytestmark = pytest.mark.django_db


def last_update(obj) -> LogEntry:
    return LogEntry.objects.get_for_object(obj).filter(action=LogEntry.Action.UPDATE).latest("pk")


def detail(pk) -> str:
    return f"{URL}{pk}/"


def step(pk, name) -> str:
    return f"{URL}{pk}/{name}/"


def open_day(days_ahead=2, weekday=None):
    """A future opening day (Monday to Saturday), at least `days_ahead` days from today."""
    day = timezone.localdate() + timedelta(days=days_ahead)
    while day.weekday() == 6 or (weekday is not None and day.weekday() != weekday):
        day += timedelta(days=1)
    return day


def slot_at(hour=10, minute=0, days_ahead=2, weekday=None) -> datetime:
    day = open_day(days_ahead, weekday)
    return datetime.combine(day, time(hour, minute), tzinfo=GARAGE_TIMEZONE)


def sunday() -> datetime:
    day = timezone.localdate() + timedelta(days=2)
    while day.weekday() != 6:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=GARAGE_TIMEZONE)


class Person:
    """A customer-role user with a Customer record and one vehicle."""

    def __init__(self, username):
        self.user = customer_user(username)
        self.customer = self.user.customer
        self.vehicle = VehicleFactory(customer=self.customer)


@pytest.fixture
def alice():
    return Person("alice")


@pytest.fixture
def bob():
    return Person("bob")


@pytest.fixture
def oil_change():
    return service_create(code="OIL", name="Vidange", labour_price=Decimal("45.000"))


def book(person, start=None, *, actor=None, services=(), notes="") -> Appointment:
    """Book through the service, as the API does."""
    return appointment_book(
        actor=actor or person.user,
        customer=person.customer,
        vehicle=person.vehicle,
        start=start or slot_at(),
        services=list(services),
        notes=notes,
    )


def booked(start) -> int:
    slot = AppointmentSlot.objects.filter(start=start).first()
    return slot.booked if slot else 0


def payload(person, start=None, **extra) -> dict:
    return {"vehicle": person.vehicle.pk, "start": (start or slot_at()).isoformat(), **extra}


# --- booking ------------------------------------------------------------------------------------


def test_a_customer_books_a_slot_for_their_vehicle(auth_client, alice, oil_change):
    start = slot_at(10)

    response = auth_client(alice.user).post(
        URL,
        payload(alice, start, services=[oil_change.pk], notes="Bruit au freinage"),
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "requested"
    assert body["customer"] == alice.customer.pk
    assert body["vehicle"]["id"] == alice.vehicle.pk
    assert body["services"] == [{"id": oil_change.pk, "code": "OIL", "name": "Vidange"}]
    assert body["notes"] == "Bruit au freinage"
    assert datetime.fromisoformat(body["start"]) == start
    assert datetime.fromisoformat(body["end"]) == start + timedelta(minutes=60)
    assert body["service_order"] is None
    appointment = Appointment.objects.get(pk=body["id"])
    assert (appointment.customer, appointment.vehicle, appointment.created_by) == (
        alice.customer,
        alice.vehicle,
        alice.user,
    )
    assert booked(start) == 1


def test_booking_is_audited_with_the_customer_as_actor_and_notes_masked(
    auth_client, alice, oil_change
):
    response = auth_client(alice.user).post(
        URL, payload(alice, notes="Code portail 4471"), format="json"
    )

    appointment = Appointment.objects.get(pk=response.json()["id"])
    entry = LogEntry.objects.get_for_object(appointment).get(action=LogEntry.Action.CREATE)
    assert entry.actor == alice.user
    assert "4471" not in str(entry.changes)


def test_booking_another_customers_vehicle_is_refused_like_an_unknown_one(auth_client, alice, bob):
    client = auth_client(alice.user)

    foreign = client.post(URL, payload(alice, vehicle=bob.vehicle.pk), format="json")
    missing = client.post(URL, payload(alice, vehicle=999999), format="json")

    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()
    assert foreign.json()["errors"] == {"vehicle": ["Unknown vehicle."]}
    assert not Appointment.objects.exists()
    assert booked(slot_at()) == 0


def test_a_customer_cannot_book_in_someone_elses_name(auth_client, alice, bob):
    response = auth_client(alice.user).post(
        URL, payload(alice, customer=bob.customer.pk), format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"customer": ["This field cannot be changed here."]}
    assert not Appointment.objects.exists()


def test_a_customer_account_without_a_customer_record_cannot_book(auth_client, customer, alice):
    response = auth_client(customer).post(URL, payload(alice), format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"vehicle": ["Unknown vehicle."]}


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(lambda: slot_at(10, 30), id="not-on-a-slot-boundary"),
        pytest.param(lambda: slot_at(10, 0) + timedelta(seconds=1), id="seconds"),
        pytest.param(lambda: slot_at(7), id="before-opening"),
        pytest.param(lambda: slot_at(18), id="at-closing"),
        pytest.param(sunday, id="sunday"),
        pytest.param(
            lambda: datetime.combine(
                timezone.localdate() - timedelta(days=7), time(10), tzinfo=GARAGE_TIMEZONE
            ),
            id="past",
        ),
    ],
)
def test_a_start_outside_the_bookable_slots_is_refused(auth_client, alice, start):
    response = auth_client(alice.user).post(URL, payload(alice, start()), format="json")

    assert response.status_code == 400, response.content
    assert "start" in response.json()["errors"]
    assert not Appointment.objects.exists()
    assert not AppointmentSlot.objects.exists()


def test_the_last_slot_of_the_day_is_bookable(auth_client, alice):
    response = auth_client(alice.user).post(URL, payload(alice, slot_at(17)), format="json")

    assert response.status_code == 201, response.content


def test_a_naive_start_is_read_as_tunis_time(auth_client, alice):
    start = slot_at(9)

    response = auth_client(alice.user).post(
        URL,
        payload(alice, vehicle=alice.vehicle.pk) | {"start": start.strftime("%Y-%m-%dT%H:%M")},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert booked(start) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "tomorrow"}, "start"),
        ({"start": None}, "start"),
        ({"vehicle": "abc"}, "vehicle"),
        ({"services": [999999]}, "services"),
    ],
)
def test_malformed_booking_is_refused_with_field_errors(auth_client, alice, change, field):
    response = auth_client(alice.user).post(URL, {**payload(alice), **change}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Appointment.objects.exists()


def test_an_inactive_service_cannot_be_booked(auth_client, alice, super_admin):
    retired = service_create(
        code="OLD", name="Carburateur", labour_price=Decimal("30.000"), is_active=False
    )

    response = auth_client(alice.user).post(
        URL, payload(alice, services=[retired.pk]), format="json"
    )

    assert response.status_code == 400
    assert "services" in response.json()["errors"]


def test_technicians_have_no_access_to_appointments(auth_client, technician, alice):
    appointment = book(alice)
    client = auth_client(technician)

    assert client.get(URL).status_code == 403
    assert client.get(detail(appointment.pk)).status_code == 403
    assert client.post(URL, payload(alice), format="json").status_code == 403
    assert client.post(step(appointment.pk, "cancel")).status_code == 403
    assert Appointment.objects.count() == 1


def test_appointments_require_authentication(api_client, alice):
    appointment = book(alice)

    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, payload(alice), format="json").status_code == 401
    assert api_client.get(detail(appointment.pk)).status_code == 401
    assert api_client.post(step(appointment.pk, "confirm")).status_code == 401


# --- booking by the front desk ------------------------------------------------------------------


def test_super_admin_books_for_a_customer(auth_client, super_admin, alice):
    response = auth_client(super_admin).post(
        URL, payload(alice, customer=alice.customer.pk), format="json"
    )

    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get()
    assert (appointment.customer, appointment.created_by) == (alice.customer, super_admin)
    entry = LogEntry.objects.get_for_object(appointment).get(action=LogEntry.Action.CREATE)
    assert entry.actor == super_admin


def test_super_admin_books_for_a_walk_in_customer_without_an_account(auth_client, super_admin):
    vehicle = VehicleFactory()

    response = auth_client(super_admin).post(
        URL,
        {"customer": vehicle.customer_id, "vehicle": vehicle.pk, "start": slot_at().isoformat()},
        format="json",
    )

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({}, {"customer": ["This field is required."]}),
        ({"customer": 999999}, {"customer": ["Unknown customer."]}),
    ],
)
def test_super_admin_must_name_an_existing_customer(
    auth_client, super_admin, alice, change, errors
):
    response = auth_client(super_admin).post(URL, payload(alice, **change), format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == errors


def test_super_admin_cannot_book_a_vehicle_for_a_customer_who_does_not_own_it(
    auth_client, super_admin, alice, bob
):
    response = auth_client(super_admin).post(
        URL, payload(alice, customer=bob.customer.pk), format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"vehicle": ["Unknown vehicle."]}


# --- capacity -----------------------------------------------------------------------------------


def test_a_full_slot_refuses_the_next_booking(auth_client, settings, alice, bob):
    settings.GARAGE_BAYS = 1
    start = slot_at(11)
    assert (
        auth_client(alice.user).post(URL, payload(alice, start), format="json").status_code == 201
    )

    response = auth_client(bob.user).post(URL, payload(bob, start), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "slot_full"
    assert "start" in response.json()["errors"]
    assert booked(start) == 1
    assert Appointment.objects.count() == 1


def test_the_same_vehicle_cannot_take_two_bays_of_one_slot(auth_client, alice):
    client = auth_client(alice.user)
    start = slot_at(11)
    assert client.post(URL, payload(alice, start), format="json").status_code == 201

    response = client.post(URL, payload(alice, start), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "already_booked"
    assert booked(start) == 1


def test_cancelling_frees_the_bay(auth_client, settings, alice, bob):
    settings.GARAGE_BAYS = 1
    start = slot_at(11)
    appointment = book(alice, start)

    assert auth_client(alice.user).post(step(appointment.pk, "cancel")).status_code == 200
    assert booked(start) == 0
    assert auth_client(bob.user).post(URL, payload(bob, start), format="json").status_code == 201
    assert booked(start) == 1


def _race(clients_and_bodies) -> list:
    """Post bookings from several threads released at the same instant."""
    barrier = threading.Barrier(len(clients_and_bodies))
    results = []
    lock = threading.Lock()

    def run(client, body):
        try:
            barrier.wait(timeout=10)
            response = client.post(URL, body, format="json")
            outcome = (response.status_code, response.json().get("code"))
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertions
            outcome = ("error", repr(exc))
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=pair) for pair in clients_and_bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.skipif(
    ON_SQLITE,
    reason="SQLite's shared-cache test database raises 'database table is locked' on the "
    "second writer instead of waiting: the race is only meaningful on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("slot_exists", [False, True], ids=["first-booking", "last-bay"])
def test_two_customers_racing_for_the_last_bay_exactly_one_wins(
    auth_client, settings, make_user, slot_exists
):
    people = [Person(f"racer{n}") for n in range(3)]
    clients = [auth_client(p.user) for p in people]
    for attempt in range(3):
        start = slot_at(8 + attempt)
        if slot_exists:
            settings.GARAGE_BAYS = 2
            book(people[2], start)
        else:
            settings.GARAGE_BAYS = 1

        results = _race([(clients[n], payload(people[n], start)) for n in range(2)])

        assert sorted(results, key=str) == [(201, None), (400, "slot_full")], results
        assert booked(start) == settings.GARAGE_BAYS
        assert Appointment.objects.filter(slot__start=start).count() == settings.GARAGE_BAYS


# --- availability -------------------------------------------------------------------------------


def test_availability_lists_the_day_with_bays_left(auth_client, settings, alice, bob):
    settings.GARAGE_BAYS = 2
    day = open_day()
    book(alice, slot_at(10, days_ahead=2))
    book(bob, slot_at(10, days_ahead=2))
    book(bob, slot_at(14, days_ahead=2))

    response = auth_client(alice.user).get(AVAILABILITY, {"date": day.isoformat()})

    assert response.status_code == 200, response.content
    slots = {datetime.fromisoformat(s["start"]).hour: s for s in response.json()}
    assert sorted(slots) == list(range(8, 18))
    assert slots[10]["remaining"] == 0 and slots[10]["bookable"] is False
    assert slots[14]["remaining"] == 1 and slots[14]["bookable"] is True
    assert slots[8] == {
        "start": slots[8]["start"],
        "end": slots[9]["start"],
        "capacity": 2,
        "remaining": 2,
        "bookable": True,
    }


def test_cancelled_bookings_give_the_bay_back_in_availability(auth_client, settings, alice):
    settings.GARAGE_BAYS = 1
    appointment = book(alice, slot_at(10))
    auth_client(alice.user).post(step(appointment.pk, "cancel"))

    slots = auth_client(alice.user).get(AVAILABILITY, {"date": open_day().isoformat()}).json()

    assert next(s for s in slots if datetime.fromisoformat(s["start"]).hour == 10)["remaining"] == 1


def test_no_slots_on_sunday(auth_client, technician):
    response = auth_client(technician).get(AVAILABILITY, {"date": sunday().date().isoformat()})

    assert response.status_code == 200
    assert response.json() == []


def test_past_slots_are_not_bookable(auth_client, alice):
    past = timezone.localdate() - timedelta(days=7)
    while past.weekday() == 6:
        past -= timedelta(days=1)

    slots = auth_client(alice.user).get(AVAILABILITY, {"date": past.isoformat()}).json()

    assert slots and not any(s["bookable"] for s in slots)


@pytest.mark.parametrize(
    "query", [{}, {"date": "2026-13-01"}, {"date": "soon"}, {"date": "1067-11-05"}]
)
def test_availability_needs_a_valid_date(auth_client, alice, query):
    response = auth_client(alice.user).get(AVAILABILITY, query)

    assert response.status_code == 400
    assert "date" in response.json()["errors"]


def test_availability_requires_authentication(api_client):
    assert api_client.get(AVAILABILITY, {"date": open_day().isoformat()}).status_code == 401


# --- list and retrieve --------------------------------------------------------------------------


def test_customers_see_only_their_appointments(auth_client, alice, bob):
    mine = book(alice)
    theirs = book(bob)

    response = auth_client(alice.user).get(URL)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert auth_client(alice.user).get(detail(theirs.pk)).status_code == 404
    assert auth_client(alice.user).get(detail(mine.pk)).status_code == 200


def test_another_customers_appointment_cannot_be_cancelled(auth_client, alice, bob):
    theirs = book(bob)

    response = auth_client(alice.user).post(step(theirs.pk, "cancel"))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "requested"


def test_super_admin_sees_all_and_filters_by_status_and_date(auth_client, super_admin, alice, bob):
    early = book(alice, slot_at(9, days_ahead=2))
    later = book(bob, slot_at(9, days_ahead=9))
    appointment_confirm(actor=super_admin, appointment=later)
    client = auth_client(super_admin)

    def ids(query=None):
        return [row["id"] for row in client.get(URL, query or {}).json()["results"]]

    assert ids() == [early.pk, later.pk]
    assert ids({"ordering": "-start"}) == [later.pk, early.pk]
    assert ids({"status": "confirmed"}) == [later.pk]
    assert ids({"date": open_day(2).isoformat()}) == [early.pk]
    assert ids({"date": open_day(9).isoformat(), "status": "requested"}) == []


def test_invalid_status_filter_is_a_400(auth_client, super_admin):
    response = auth_client(super_admin).get(URL, {"status": "lost"})

    assert response.status_code == 400
    assert "status" in response.json()["errors"]


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.SUPER_ADMIN])
def test_list_query_count_does_not_grow_with_rows(auth_client, settings, super_admin, role):
    settings.GARAGE_BAYS = 100
    person = Person("many")
    services = [
        service_create(code=f"S{n}", name=f"Service {n}", labour_price=Decimal("1.000"))
        for n in range(3)
    ]
    client = auth_client(person.user if role == Role.CUSTOMER else super_admin)

    def add(count):
        for n in range(count):
            person.vehicle = VehicleFactory(customer=person.customer)
            appointment = book(person, slot_at(8 + n % 10), services=services, notes="x")
            if n % 2:
                appointment_confirm(actor=super_admin, appointment=appointment)

    add(1)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(URL, {"page_size": 100}).json()["results"]) == 1
    add(49)
    with CaptureQueriesContext(connection) as fifty:
        rows = client.get(URL, {"page_size": 100}).json()["results"]
    assert len(rows) == 50
    assert all(len(row["services"]) == 3 for row in rows)

    assert len(fifty) == len(one)


# --- workflow -----------------------------------------------------------------------------------


def test_super_admin_confirms_a_request(auth_client, super_admin, alice):
    appointment = book(alice)

    response = auth_client(super_admin).post(step(appointment.pk, "confirm"))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"
    entry = LogEntry.objects.get_for_object(appointment).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == super_admin
    assert entry.changes_dict["status"] == ["requested", "confirmed"]


def test_confirming_twice_is_an_invalid_transition(auth_client, super_admin, alice):
    appointment = book(alice)
    client = auth_client(super_admin)
    client.post(step(appointment.pk, "confirm"))

    response = client.post(step(appointment.pk, "confirm"))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_transition"


@pytest.mark.parametrize("name", ["confirm", "no-show", "check-in"])
def test_customers_cannot_run_the_front_desk_steps(auth_client, alice, super_admin, name):
    appointment = book(alice)
    if name != "confirm":
        appointment_confirm(actor=super_admin, appointment=appointment)

    response = auth_client(alice.user).post(step(appointment.pk, name))

    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == ("requested" if name == "confirm" else "confirmed")


@pytest.mark.parametrize("name", ["confirm", "cancel", "no-show", "check-in"])
def test_workflow_steps_on_an_unknown_appointment_are_404(auth_client, super_admin, name):
    assert auth_client(super_admin).post(step(999999, name)).status_code == 404


@pytest.mark.parametrize("confirm_first", [False, True])
def test_a_customer_cancels_their_own_appointment(auth_client, super_admin, alice, confirm_first):
    appointment = book(alice)
    if confirm_first:
        appointment_confirm(actor=super_admin, appointment=appointment)

    response = auth_client(alice.user).post(step(appointment.pk, "cancel"))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    entry = (
        LogEntry.objects.get_for_object(appointment).filter(action=LogEntry.Action.UPDATE).first()
    )
    assert entry.actor == alice.user
    assert entry.changes_dict["status"][1] == "cancelled"


def test_super_admin_cancels_any_appointment(auth_client, super_admin, alice):
    appointment = book(alice)

    response = auth_client(super_admin).post(step(appointment.pk, "cancel"))

    assert response.status_code == 200
    assert booked(slot_at()) == 0


def test_a_cancelled_appointment_cannot_be_cancelled_again_nor_confirmed(
    auth_client, super_admin, alice
):
    appointment = book(alice)
    auth_client(alice.user).post(step(appointment.pk, "cancel"))

    again = auth_client(alice.user).post(step(appointment.pk, "cancel"))
    confirm = auth_client(super_admin).post(step(appointment.pk, "confirm"))

    assert (again.status_code, again.json()["code"]) == (400, "invalid_transition")
    assert (confirm.status_code, confirm.json()["code"]) == (400, "invalid_transition")
    assert booked(slot_at()) == 0  # released once, not twice


def _past(appointment):
    """Move the appointment's slot into the past (a no-show is recorded after the fact)."""
    AppointmentSlot.objects.filter(pk=appointment.slot_id).update(
        start=timezone.now() - timedelta(hours=1)
    )


def test_super_admin_records_a_no_show_and_the_bay_is_freed(auth_client, super_admin, alice):
    appointment = book(alice)
    appointment_confirm(actor=super_admin, appointment=appointment)
    _past(appointment)

    response = auth_client(super_admin).post(step(appointment.pk, "no-show"))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "no_show"
    assert AppointmentSlot.objects.get(pk=appointment.slot_id).booked == 0
    entry = last_update(appointment)
    assert (entry.actor, entry.changes_dict["status"]) == (super_admin, ["confirmed", "no_show"])


def test_a_no_show_needs_a_confirmed_appointment(auth_client, super_admin, alice):
    appointment = book(alice)
    _past(appointment)

    response = auth_client(super_admin).post(step(appointment.pk, "no-show"))

    assert (response.status_code, response.json()["code"]) == (400, "invalid_transition")
    assert AppointmentSlot.objects.get(pk=appointment.slot_id).booked == 1


def test_a_no_show_cannot_be_recorded_before_the_slot(auth_client, super_admin, alice):
    appointment = book(alice)
    appointment_confirm(actor=super_admin, appointment=appointment)

    response = auth_client(super_admin).post(step(appointment.pk, "no-show"))

    assert (response.status_code, response.json()["code"]) == (400, "invalid_transition")
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"


def test_check_in_opens_a_service_order(auth_client, super_admin, alice, oil_change):
    appointment = book(alice, services=[oil_change], notes="Voyant moteur allumé")
    appointment_confirm(actor=super_admin, appointment=appointment)

    response = auth_client(super_admin).post(
        step(appointment.pk, "check-in"), {"odometer_in": 84200}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    order = ServiceOrder.objects.get(pk=body["service_order"])
    assert body["appointment"]["status"] == "checked_in"
    assert body["appointment"]["service_order"] == order.pk
    assert (order.appointment_id, order.vehicle, order.customer) == (
        appointment.pk,
        alice.vehicle,
        alice.customer,
    )
    assert (order.complaint, order.odometer_in, order.created_by) == (
        "Voyant moteur allumé",
        84200,
        super_admin,
    )
    assert OdometerReading.objects.get(vehicle=alice.vehicle).km == 84200
    entry = last_update(appointment)
    assert (entry.actor, entry.changes_dict["status"]) == (super_admin, ["confirmed", "checked_in"])
    assert AppointmentSlot.objects.get(pk=appointment.slot_id).booked == 1


def test_check_in_without_odometer(auth_client, super_admin, alice):
    appointment = book(alice)
    appointment_confirm(actor=super_admin, appointment=appointment)

    response = auth_client(super_admin).post(step(appointment.pk, "check-in"))

    assert response.status_code == 200, response.content
    assert ServiceOrder.objects.get().odometer_in is None


def test_check_in_needs_a_confirmed_appointment(auth_client, super_admin, alice):
    appointment = book(alice)

    response = auth_client(super_admin).post(step(appointment.pk, "check-in"))

    assert (response.status_code, response.json()["code"]) == (400, "invalid_transition")
    assert not ServiceOrder.objects.exists()


def test_a_checked_in_appointment_can_no_longer_be_cancelled(auth_client, super_admin, alice):
    appointment = book(alice)
    appointment_confirm(actor=super_admin, appointment=appointment)
    auth_client(super_admin).post(step(appointment.pk, "check-in"))

    response = auth_client(alice.user).post(step(appointment.pk, "cancel"))

    assert (response.status_code, response.json()["code"]) == (400, "invalid_transition")


def test_check_in_with_a_lower_odometer_is_refused_and_nothing_changes(
    auth_client, super_admin, alice
):
    odometer_record(vehicle=alice.vehicle, km=90000, actor=super_admin, source="customer")
    appointment = book(alice)
    appointment_confirm(actor=super_admin, appointment=appointment)

    response = auth_client(super_admin).post(
        step(appointment.pk, "check-in"), {"odometer_in": 85000}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "odometer_decrease"
    assert response.json()["errors"] == {"odometer_in": ["The last reading is 90000 km."]}
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"
    assert not ServiceOrder.objects.exists()


def test_check_in_with_an_invalid_odometer_is_a_field_error(auth_client, super_admin, alice):
    appointment = book(alice)
    appointment_confirm(actor=super_admin, appointment=appointment)

    response = auth_client(super_admin).post(
        step(appointment.pk, "check-in"), {"odometer_in": -5}, format="json"
    )

    assert response.status_code == 400
    assert "odometer_in" in response.json()["errors"]
    assert not ServiceOrder.objects.exists()


# --- the services check who acts, whatever view calls them --------------------------------------


def test_the_booking_service_refuses_a_technician(technician, alice):
    with pytest.raises(ApplicationError) as refused:
        book(alice, actor=technician)

    assert (refused.value.code, refused.value.status_code) == ("permission_denied", 403)
    assert not AppointmentSlot.objects.exists()


def test_the_booking_service_refuses_a_customer_booking_in_another_name(alice, bob):
    with pytest.raises(ApplicationError) as refused:
        book(bob, actor=alice.user)

    assert refused.value.extra == {"vehicle": ["Unknown vehicle."]}
    assert not Appointment.objects.exists()


def test_the_cancel_service_refuses_another_customer(alice, bob):
    appointment = book(bob)

    with pytest.raises(ApplicationError) as refused:
        appointment_cancel(actor=alice.user, appointment=appointment)

    assert refused.value.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == "requested"
