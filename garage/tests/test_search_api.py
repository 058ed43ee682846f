"""Exact searches by personal values: POST bodies through the blind indexes, never URLs."""

import pytest

from garage.tests.factories import CustomerFactory, VehicleFactory, customer_user

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/customers/search/"
VEHICLES = "/api/vehicles/search/"


@pytest.mark.parametrize(
    ("field", "stored", "searched"),
    [
        ("email", {"email": "Sami@Example.tn"}, "sami@example.tn"),
        ("phone", {"phone": "+21620123456"}, "20 123 456"),
        ("cin", {"national_id": "08123456"}, "08123456"),
        ("tax_id", {"tax_id": "1234567AAM000"}, "1234567 A A M 000"),
    ],
)
def test_super_admin_finds_a_customer_by_exact_value(
    auth_client, super_admin, field, stored, searched
):
    wanted = CustomerFactory(**stored)
    CustomerFactory()

    response = auth_client(super_admin).post(CUSTOMERS, {field: searched}, format="json")

    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]
    assert response["Cache-Control"] == "no-store"


def test_every_given_value_must_match(auth_client, super_admin):
    wanted = CustomerFactory(email="a@example.tn", phone="+21620000001")

    client = auth_client(super_admin)
    both = client.post(CUSTOMERS, {"email": "a@example.tn", "phone": "20000001"}, format="json")
    mixed = client.post(CUSTOMERS, {"email": "a@example.tn", "phone": "20000002"}, format="json")

    assert [row["id"] for row in both.json()["results"]] == [wanted.pk]
    assert mixed.json()["count"] == 0


def test_a_customer_finds_only_their_own_record(auth_client):
    alice = customer_user("alice")
    bob = customer_user("bob")

    response = auth_client(alice).post(CUSTOMERS, {"email": bob.customer.email}, format="json")

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_technicians_cannot_search_customers(auth_client, technician):
    response = auth_client(technician).post(CUSTOMERS, {"email": "a@example.tn"}, format="json")

    assert response.status_code == 403


def test_search_needs_authentication(api_client):
    assert api_client.post(CUSTOMERS, {"email": "a@example.tn"}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "non_field_errors"),
        ({"email": "not-an-address"}, "email"),
        ({"cin": "12"}, "cin"),
        ({"email": "a@example.tn", "full_name": "Sami"}, "full_name"),
    ],
)
def test_invalid_customer_search_is_a_400(auth_client, super_admin, body, field):
    response = auth_client(super_admin).post(CUSTOMERS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_personal_values_in_the_list_query_string_are_not_a_search(auth_client, super_admin):
    CustomerFactory.create_batch(2)
    wanted = CustomerFactory(email="sami@example.tn")

    response = auth_client(super_admin).get("/api/customers/", {"email": wanted.email})

    assert response.json()["count"] == 3  # ignored: the search is a POST


def test_get_on_the_search_route_is_405(auth_client, super_admin):
    response = auth_client(super_admin).get(CUSTOMERS)

    assert response.status_code == 405


def test_vehicle_search_by_plate_and_vin(auth_client, super_admin):
    wanted = VehicleFactory(plate="123 TU 4567", vin="VF3AB12C3D4567890")
    VehicleFactory()
    client = auth_client(super_admin)

    by_plate = client.post(VEHICLES, {"plate": "123 تونس 4567"}, format="json")
    by_vin = client.post(VEHICLES, {"vin": "vf3ab12c3d4567890"}, format="json")

    assert [row["id"] for row in by_plate.json()["results"]] == [wanted.pk]
    assert [row["id"] for row in by_vin.json()["results"]] == [wanted.pk]


def test_vehicle_search_needs_authentication(api_client):
    VehicleFactory(plate="123 TU 4567")

    response = api_client.post(VEHICLES, {"plate": "123 TU 4567"}, format="json")

    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert "results" not in response.json()


def test_technicians_cannot_search_vehicles(auth_client, technician):
    VehicleFactory(plate="123 TU 4567")

    response = auth_client(technician).post(VEHICLES, {"plate": "123 TU 4567"}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert "results" not in response.json()


def test_a_customer_finds_only_their_own_vehicle(auth_client):
    alice = customer_user("alice")
    bob = customer_user("bob")
    own = VehicleFactory(customer=alice.customer, plate="111 TU 1111")
    VehicleFactory(customer=bob.customer, plate="222 TU 2222")
    client = auth_client(alice)

    theirs = client.post(VEHICLES, {"plate": "222 TU 2222"}, format="json")
    mine = client.post(VEHICLES, {"plate": "111 TU 1111"}, format="json")

    assert theirs.status_code == 200, theirs.content
    assert (theirs.json()["count"], theirs.json()["results"]) == (0, [])
    assert mine.status_code == 200, mine.content
    assert [row["id"] for row in mine.json()["results"]] == [own.pk]
