"""Vehicle API: registration, plate/VIN rules, scoping, search and odometer readings."""

import datetime
import json
import threading

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from garage.identifiers import normalise_plate
from garage.models import OdometerReading, Vehicle
from garage.services.vehicles import odometer_record, vehicle_create
from garage.tests.factories import VehicleFactory, customer_user
from privacy.querysets import EncryptedQuerySet

URL = "/api/vehicles/"
SEARCH = "/api/vehicles/search/"
ARABIC_PLATE = "123 تونس 4567"
LATIN_PLATE = "123 TU 4567"

pytestmark = pytest.mark.django_db


def detail(vehicle) -> str:
    return f"{URL}{vehicle.pk}/"


def odometer_url(vehicle) -> str:
    return f"{URL}{vehicle.pk}/odometer/"


def new_vehicle(owner, plate=LATIN_PLATE, **values) -> Vehicle:
    """A vehicle registered through the service for a customer-role user."""
    return vehicle_create(
        customer=owner.customer,
        plate=plate,
        **{"make": "Peugeot", "model": "208", "vin": None, **values},
    )


def payload(**values) -> dict:
    return {
        "plate": ARABIC_PLATE,
        "vin": "vf3 ab12c3d4567890",
        "make": "Peugeot",
        "model": "208",
        "year": 2020,
        "fuel": "petrol",
        "colour": "Blanc",
        **values,
    }


# --- Create -----------------------------------------------------------------------------------


def test_customer_registers_their_own_vehicle_plate_kept_as_entered(auth_client):
    alice = customer_user("alice")

    response = auth_client(alice).post(URL, payload(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["plate"] == ARABIC_PLATE
    assert body["vin"] == "VF3AB12C3D4567890"
    assert body["customer"] == alice.customer.pk
    assert body["last_odometer_km"] is None
    vehicle = Vehicle.objects.get(pk=body["id"])
    assert vehicle.customer == alice.customer
    assert vehicle.plate == ARABIC_PLATE
    assert Vehicle.objects.blind_lookup(plate="123tu4567").get() == vehicle
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Vehicle),
        object_pk=str(vehicle.pk),
        action=LogEntry.Action.CREATE,
    )
    assert entry.actor == alice
    assert "4567" not in json.dumps(entry.changes)


def test_customer_may_not_choose_the_owner(auth_client):
    alice = customer_user("alice")
    bob = customer_user("bob")

    response = auth_client(alice).post(URL, payload(customer=bob.customer.pk), format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["customer"]
    assert not Vehicle.objects.exists()


def test_customer_account_without_a_customer_record_cannot_register(auth_client, customer):
    response = auth_client(customer).post(URL, payload(), format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "no_customer_record"
    assert not Vehicle.objects.exists()


def test_super_admin_registers_a_vehicle_for_a_chosen_customer(auth_client, super_admin):
    alice = customer_user("alice")
    client = auth_client(super_admin)

    missing = client.post(URL, payload(), format="json")
    assert missing.status_code == 400
    assert "customer" in missing.json()["errors"]

    response = client.post(URL, payload(customer=alice.customer.pk), format="json")

    assert response.status_code == 201, response.content
    assert Vehicle.objects.get(pk=response.json()["id"]).customer == alice.customer


@pytest.mark.parametrize(
    "vin",
    ["VF3AB12C3D456789", "VF3AB12C3D45678901", "VF3AB12C3D456789I", "VF3OB12C3D4567890", "Q" * 17],
)
def test_bad_vin_is_refused_with_a_field_error(auth_client, vin):
    alice = customer_user("alice")

    response = auth_client(alice).post(URL, payload(vin=vin), format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["vin"]
    assert not Vehicle.objects.exists()


@pytest.mark.parametrize("plate", ["ABC 123", "1234 TU 5678", "123 XX 4567", "TU", "12 TU 12345"])
def test_bad_plate_is_refused_with_a_field_error(auth_client, plate):
    alice = customer_user("alice")

    response = auth_client(alice).post(URL, payload(plate=plate), format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["plate"]
    assert not Vehicle.objects.exists()


@pytest.mark.parametrize("plate", ["RS 123456", "12345 ن ت", "5 تونس 12"])
def test_other_tunisian_plate_formats_are_accepted(auth_client, plate):
    alice = customer_user("alice")
    response = auth_client(alice).post(URL, payload(plate=plate, vin=None), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["plate"] == plate


def test_year_must_be_from_1950_to_next_year(auth_client):
    alice = customer_user("alice")
    client = auth_client(alice)
    next_year = timezone.localdate().year + 1

    for year in (1949, next_year + 1):
        response = client.post(URL, payload(year=year), format="json")
        assert response.status_code == 400, year
        assert list(response.json()["errors"]) == ["year"]
    assert not Vehicle.objects.exists()

    assert client.post(URL, payload(year=next_year), format="json").status_code == 201


def test_a_plate_is_registered_once_whatever_the_spelling(auth_client):
    alice = customer_user("alice")
    bob = customer_user("bob")
    new_vehicle(alice, plate=ARABIC_PLATE)

    response = auth_client(bob).post(URL, payload(plate="123 tu 4567", vin=None), format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "plate_taken"
    assert body["errors"] == {"plate": ["This plate is already registered."]}
    assert Vehicle.objects.count() == 1


def test_a_vin_is_registered_once(auth_client):
    alice = customer_user("alice")
    new_vehicle(alice, plate="1 TU 1", vin="VF3AB12C3D4567890")

    response = auth_client(alice).post(URL, payload(plate="2 TU 2"), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "vin_taken"
    assert Vehicle.objects.count() == 1


def test_duplicate_plate_that_slips_past_the_check_is_still_a_400(auth_client, monkeypatch):
    """The unique blind index is the last guard: an IntegrityError becomes "already registered"."""
    alice = customer_user("alice")
    new_vehicle(alice, plate=ARABIC_PLATE)
    # As if a concurrent request had registered the plate between the check and the insert.
    monkeypatch.setattr(EncryptedQuerySet, "exists", lambda self: False)

    response = auth_client(alice).post(URL, payload(plate=LATIN_PLATE, vin=None), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "plate_taken"
    monkeypatch.undo()
    assert Vehicle.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_registrations_of_one_plate_give_one_vehicle(auth_client):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's shared in-memory test database locks tables across threads.")
    owners = [customer_user("alice"), customer_user("bob")]
    tokens = [auth_client(owner)._credentials["HTTP_AUTHORIZATION"] for owner in owners]
    plates = [ARABIC_PLATE, LATIN_PLATE]
    barrier = threading.Barrier(2)
    statuses, codes = [], []

    def register(token, plate):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=token)
            barrier.wait(timeout=10)
            response = client.post(URL, payload(plate=plate, vin=None), format="json")
            statuses.append(response.status_code)
            codes.append(response.json().get("code"))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=register, args=args) for args in zip(tokens, plates, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 400]
    assert "plate_taken" in codes
    assert Vehicle.objects.count() == 1


@pytest.mark.parametrize("role_user", ["technician"])
def test_technician_may_not_register_vehicles(auth_client, request, role_user):
    customer_user("alice")
    user = request.getfixturevalue(role_user)
    assert auth_client(user).post(URL, payload(), format="json").status_code == 403
    assert not Vehicle.objects.exists()


def test_registering_needs_authentication(api_client):
    assert api_client.post(URL, payload(), format="json").status_code == 401


# --- List, search, retrieve -------------------------------------------------------------------


def test_customer_lists_only_their_own_vehicles(auth_client):
    alice = customer_user("alice")
    bob = customer_user("bob")
    mine = new_vehicle(alice)
    new_vehicle(bob, plate="200 TU 1")

    response = auth_client(alice).get(URL)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_super_admin_lists_every_vehicle(auth_client, super_admin):
    new_vehicle(customer_user("alice"))
    new_vehicle(customer_user("bob"), plate="200 TU 1")
    assert auth_client(super_admin).get(URL).json()["count"] == 2


def test_technician_may_not_list_vehicles(auth_client, technician):
    new_vehicle(customer_user("alice"))
    assert auth_client(technician).get(URL).status_code == 403


def test_listing_vehicles_needs_authentication(api_client):
    assert api_client.get(URL).status_code == 401


@pytest.mark.parametrize("searched", [ARABIC_PLATE, LATIN_PLATE, "123tu4567", "123-TUN-4567"])
def test_both_plate_spellings_find_the_same_vehicle(auth_client, super_admin, searched):
    alice = customer_user("alice")
    wanted = new_vehicle(alice, plate=ARABIC_PLATE)
    new_vehicle(alice, plate="124 TU 4567")

    response = auth_client(super_admin).post(SEARCH, {"plate": searched}, format="json")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]
    assert response.json()["results"][0]["plate"] == ARABIC_PLATE


def test_search_by_vin(auth_client, super_admin):
    alice = customer_user("alice")
    wanted = new_vehicle(alice, vin="VF3AB12C3D4567890")
    new_vehicle(alice, plate="1 TU 1", vin="VF3AB12C3D4567891")

    response = auth_client(super_admin).post(SEARCH, {"vin": " vf3ab12c3d4567890"}, format="json")

    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]


@pytest.mark.parametrize(("param", "value"), [("plate", "nonsense"), ("vin", "SHORT")])
def test_invalid_search_value_is_a_400(auth_client, super_admin, param, value):
    response = auth_client(super_admin).post(SEARCH, {param: value}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [param]


def test_customer_search_stays_within_their_vehicles(auth_client):
    alice = customer_user("alice")
    new_vehicle(customer_user("bob"), plate=ARABIC_PLATE)

    response = auth_client(alice).post(SEARCH, {"plate": LATIN_PLATE}, format="json")

    assert response.json()["count"] == 0


def test_vehicle_list_query_count_does_not_grow_with_rows(auth_client, super_admin):
    alice = customer_user("alice")
    client = auth_client(super_admin)
    vehicle = VehicleFactory(customer=alice.customer)
    odometer_record(vehicle=vehicle, km=1000, actor=alice, source="customer")
    with CaptureQueriesContext(connection) as one:
        assert client.get(URL).json()["count"] == 1
    for vehicle in VehicleFactory.create_batch(49, customer=alice.customer):
        odometer_record(vehicle=vehicle, km=5000, actor=alice, source="customer")
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(URL, {"page_size": 50})
    assert len(response.json()["results"]) == 50
    assert all(row["last_odometer_km"] for row in response.json()["results"])
    assert len(fifty) == len(one)


def test_vehicle_detail_shows_the_last_reading_and_next_service(auth_client):
    alice = customer_user("alice")
    vehicle = new_vehicle(alice)
    odometer_record(
        vehicle=vehicle,
        km=41000,
        actor=alice,
        source="customer",
        recorded_on=datetime.date(2026, 1, 5),
    )
    odometer_record(vehicle=vehicle, km=42500, actor=alice, source="customer")
    Vehicle.objects.filter(pk=vehicle.pk).update(
        next_service_date=datetime.date(2027, 3, 1), next_service_km=50000
    )

    response = auth_client(alice).get(detail(vehicle))

    assert response.status_code == 200
    body = response.json()
    assert body["last_odometer_km"] == 42500
    assert body["last_odometer_on"] == timezone.localdate().isoformat()
    assert (body["next_service_date"], body["next_service_km"]) == ("2027-03-01", 50000)


def test_another_customers_vehicle_is_a_404(auth_client):
    alice = customer_user("alice")
    theirs = new_vehicle(customer_user("bob"))
    assert auth_client(alice).get(detail(theirs)).status_code == 404


def test_technician_may_not_read_a_vehicle(auth_client, technician):
    vehicle = new_vehicle(customer_user("alice"))
    assert auth_client(technician).get(detail(vehicle)).status_code == 403


# --- Update -----------------------------------------------------------------------------------


def test_customer_updates_their_vehicle(auth_client):
    alice = customer_user("alice")
    vehicle = new_vehicle(alice)

    response = auth_client(alice).patch(
        detail(vehicle), {"colour": "Gris", "plate": "77 تونس 1234"}, format="json"
    )

    assert response.status_code == 200, response.content
    vehicle.refresh_from_db()
    assert (vehicle.colour, vehicle.plate) == ("Gris", "77 تونس 1234")
    assert Vehicle.objects.blind_lookup(plate="77 TU 1234").get() == vehicle


@pytest.mark.parametrize(
    "change", [{"next_service_km": 1}, {"next_service_date": "2030-01-01"}, {"customer": 1}]
)
def test_customer_may_not_change_owner_or_reminders(auth_client, change):
    alice = customer_user("alice")
    vehicle = new_vehicle(alice)

    response = auth_client(alice).patch(detail(vehicle), change, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(change)
    vehicle.refresh_from_db()
    assert (vehicle.customer_id, vehicle.next_service_km) == (alice.customer.pk, None)


def test_changing_to_a_registered_plate_is_refused(auth_client):
    alice = customer_user("alice")
    vehicle = new_vehicle(alice, plate="1 TU 1")
    new_vehicle(alice, plate=ARABIC_PLATE)

    response = auth_client(alice).patch(detail(vehicle), {"plate": LATIN_PLATE}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "plate_taken"
    vehicle.refresh_from_db()
    assert normalise_plate(vehicle.plate) == "1TU1"


def test_customer_may_not_update_another_customers_vehicle(auth_client):
    alice = customer_user("alice")
    theirs = new_vehicle(customer_user("bob"))
    response = auth_client(alice).patch(detail(theirs), {"colour": "Noir"}, format="json")
    assert response.status_code == 404


def test_super_admin_moves_a_vehicle_to_another_customer(auth_client, super_admin):
    alice = customer_user("alice")
    bob = customer_user("bob")
    vehicle = new_vehicle(alice)

    response = auth_client(super_admin).patch(
        detail(vehicle), {"customer": bob.customer.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    vehicle.refresh_from_db()
    assert vehicle.customer == bob.customer


def test_technician_may_not_update_a_vehicle(auth_client, technician):
    vehicle = new_vehicle(customer_user("alice"))
    response = auth_client(technician).patch(detail(vehicle), {"colour": "X"}, format="json")
    assert response.status_code == 403


def test_updating_a_vehicle_needs_authentication(api_client):
    vehicle = new_vehicle(customer_user("alice"))
    assert api_client.patch(detail(vehicle), {"colour": "X"}, format="json").status_code == 401


# --- Odometer ---------------------------------------------------------------------------------


def test_customer_reports_an_odometer_reading(auth_client):
    alice = customer_user("alice")
    vehicle = new_vehicle(alice)

    response = auth_client(alice).post(
        odometer_url(vehicle), {"km": 12000, "recorded_on": "2026-01-02"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["source"] == "customer"
    reading = vehicle.odometer_readings.get()
    assert (reading.km, reading.recorded_on, reading.recorded_by) == (
        12000,
        datetime.date(2026, 1, 2),
        alice,
    )


def test_a_lower_reading_is_refused(auth_client):
    alice = customer_user("alice")
    vehicle = new_vehicle(alice)
    odometer_record(vehicle=vehicle, km=50000, actor=alice, source="customer")

    response = auth_client(alice).post(odometer_url(vehicle), {"km": 49999}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "odometer_decrease"
    assert "km" in body["errors"]
    assert vehicle.odometer_readings.count() == 1


def test_customer_may_not_correct_a_reading(auth_client):
    alice = customer_user("alice")
    vehicle = new_vehicle(alice)
    odometer_record(vehicle=vehicle, km=50000, actor=alice, source="customer")

    response = auth_client(alice).post(
        odometer_url(vehicle), {"km": 5000, "correction": True}, format="json"
    )

    assert response.status_code == 403
    assert vehicle.odometer_readings.count() == 1


def test_super_admin_corrects_a_reading_downwards(auth_client, super_admin):
    alice = customer_user("alice")
    vehicle = new_vehicle(alice)
    odometer_record(vehicle=vehicle, km=500000, actor=alice, source="customer")
    client = auth_client(super_admin)

    assert client.post(odometer_url(vehicle), {"km": 50000}, format="json").status_code == 400

    response = client.post(odometer_url(vehicle), {"km": 50000, "correction": True}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["source"] == OdometerReading.Source.CORRECTION
    assert client.get(detail(vehicle)).json()["last_odometer_km"] == 50000
    # The next ordinary reading is compared with the corrected value.
    assert client.post(odometer_url(vehicle), {"km": 50100}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"km": -1}, "km"),
        ({"km": "many"}, "km"),
        ({}, "km"),
        ({"km": 10, "recorded_on": "2999-01-01"}, "recorded_on"),
        ({"km": 10, "source": "correction"}, "source"),
    ],
)
def test_invalid_reading_is_a_400_with_the_field(auth_client, body, field):
    alice = customer_user("alice")
    vehicle = new_vehicle(alice)

    response = auth_client(alice).post(odometer_url(vehicle), body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not vehicle.odometer_readings.exists()


def test_odometer_of_another_customers_vehicle_is_a_404(auth_client):
    alice = customer_user("alice")
    theirs = new_vehicle(customer_user("bob"))
    client = auth_client(alice)
    assert client.post(odometer_url(theirs), {"km": 1}, format="json").status_code == 404
    assert client.get(odometer_url(theirs)).status_code == 404
    assert not theirs.odometer_readings.exists()


def test_technician_may_not_use_the_odometer_endpoint(auth_client, technician):
    vehicle = new_vehicle(customer_user("alice"))
    client = auth_client(technician)
    assert client.post(odometer_url(vehicle), {"km": 1}, format="json").status_code == 403
    assert client.get(odometer_url(vehicle)).status_code == 403


def test_odometer_needs_authentication(api_client):
    vehicle = new_vehicle(customer_user("alice"))
    assert api_client.get(odometer_url(vehicle)).status_code == 401


def test_readings_are_listed_latest_first_with_constant_queries(auth_client):
    alice = customer_user("alice")
    vehicle = new_vehicle(alice)
    client = auth_client(alice)
    odometer_record(vehicle=vehicle, km=1, actor=alice, source="customer")
    with CaptureQueriesContext(connection) as one:
        assert client.get(odometer_url(vehicle)).json()["count"] == 1
    for km in range(2, 51):
        odometer_record(vehicle=vehicle, km=km * 100, actor=alice, source="customer")
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(odometer_url(vehicle), {"page_size": 50})
    kms = [row["km"] for row in response.json()["results"]]
    assert len(kms) == 50
    assert kms == sorted(kms, reverse=True)
    assert len(fifty) == len(one)
