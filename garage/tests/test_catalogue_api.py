"""The service catalogue API: everyone reads the active catalogue, super-admins maintain it."""

from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from garage.models import Service
from garage.services.catalogue import service_create
from garage.tests.factories import ServiceFactory, customer_user

URL = "/api/services/"

pytestmark = pytest.mark.django_db


def detail(pk) -> str:
    return f"{URL}{pk}/"


def codes(response) -> list[str]:
    return [row["code"] for row in response.json()["results"]]


@pytest.fixture
def catalogue():
    return {
        "oil": service_create(code="OIL", name="Vidange", labour_price=Decimal("45.000")),
        "brake": service_create(
            code="BRK", name="Plaquettes de frein", labour_price=Decimal("80.500")
        ),
        "old": service_create(
            code="OLD", name="Carburateur", labour_price=Decimal("30.000"), is_active=False
        ),
    }


VALID = {
    "code": "clim",
    "name": "Recharge climatisation",
    "labour_price": "120.250",
    "estimated_minutes": 90,
    "tva_rate": "19",
}


# --- list and retrieve --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["customer", "technician"])
def test_non_admins_list_only_the_active_catalogue(auth_client, technician, catalogue, role):
    user = customer_user("client1") if role == "customer" else technician

    response = auth_client(user).get(URL)

    assert response.status_code == 200, response.content
    assert codes(response) == ["BRK", "OIL"]
    row = response.json()["results"][0]
    assert row == {
        "id": catalogue["brake"].pk,
        "code": "BRK",
        "name": "Plaquettes de frein",
        "labour_price": "80.500",
        "estimated_minutes": 60,
        "tva_rate": "19.00",
        "is_active": True,
    }


def test_a_customer_asking_for_inactive_services_gets_none(auth_client, catalogue):
    response = auth_client(customer_user("client1")).get(URL, {"is_active": "false"})

    assert response.status_code == 200
    assert codes(response) == []


def test_super_admin_sees_inactive_services_and_filters_them(auth_client, super_admin, catalogue):
    client = auth_client(super_admin)

    assert codes(client.get(URL)) == ["BRK", "OIL", "OLD"]
    assert codes(client.get(URL, {"is_active": "false"})) == ["OLD"]
    assert codes(client.get(URL, {"is_active": "true"})) == ["BRK", "OIL"]


def test_ordering_and_search(auth_client, super_admin, catalogue):
    client = auth_client(super_admin)

    assert codes(client.get(URL, {"ordering": "-labour_price"})) == ["BRK", "OIL", "OLD"]
    assert codes(client.get(URL, {"ordering": "name"})) == ["OLD", "BRK", "OIL"]
    assert codes(client.get(URL, {"search": "frein"})) == ["BRK"]
    assert codes(client.get(URL, {"search": "oil"})) == ["OIL"]


def test_listing_requires_authentication(api_client, catalogue):
    response = api_client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_retrieve_an_active_service(auth_client, technician, catalogue):
    response = auth_client(technician).get(detail(catalogue["oil"].pk))

    assert response.status_code == 200
    assert response.json()["code"] == "OIL"


def test_an_inactive_service_is_hidden_from_customers_but_not_from_admins(
    auth_client, super_admin, catalogue
):
    pk = catalogue["old"].pk

    assert auth_client(customer_user("client1")).get(detail(pk)).status_code == 404
    assert auth_client(super_admin).get(detail(pk)).status_code == 200


def test_retrieve_unknown_service_is_404(auth_client, super_admin):
    assert auth_client(super_admin).get(detail(99999)).status_code == 404


def test_list_query_count_does_not_grow_with_rows(auth_client, super_admin):
    client = auth_client(super_admin)
    ServiceFactory()
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(URL, {"page_size": 100}).json()["results"]) == 1
    ServiceFactory.create_batch(49)
    with CaptureQueriesContext(connection) as fifty:
        assert len(client.get(URL, {"page_size": 100}).json()["results"]) == 50

    assert len(fifty) == len(one)


# --- create -------------------------------------------------------------------------------------


def test_super_admin_creates_a_service(auth_client, super_admin):
    response = auth_client(super_admin).post(URL, VALID, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "CLIM"
    assert body["labour_price"] == "120.250"
    service = Service.objects.get(pk=body["id"])
    assert (service.code, service.labour_price, service.tva_rate) == (
        "CLIM",
        Decimal("120.250"),
        Decimal("19.00"),
    )
    entry = LogEntry.objects.get_for_object(service).get(action=LogEntry.Action.CREATE)
    assert entry.actor == super_admin


@pytest.mark.parametrize("role", ["customer", "technician"])
def test_only_super_admin_creates_services(auth_client, technician, role):
    user = customer_user("client1") if role == "customer" else technician

    response = auth_client(user).post(URL, VALID, format="json")

    assert response.status_code == 403
    assert not Service.objects.exists()


def test_create_requires_authentication(api_client):
    assert api_client.post(URL, VALID, format="json").status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"labour_price": "12.3456"}, "labour_price"),
        ({"labour_price": "-1.000"}, "labour_price"),
        ({"labour_price": "abc"}, "labour_price"),
        ({"tva_rate": "-1"}, "tva_rate"),
        ({"tva_rate": "100.01"}, "tva_rate"),
        ({"estimated_minutes": 0}, "estimated_minutes"),
        ({"name": ""}, "name"),
        ({"code": "   "}, "code"),
    ],
)
def test_invalid_service_is_refused_with_a_field_error(auth_client, super_admin, change, field):
    response = auth_client(super_admin).post(URL, {**VALID, **change}, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Service.objects.exists()


def test_a_price_with_more_than_three_decimals_is_never_rounded(auth_client, super_admin):
    response = auth_client(super_admin).post(
        URL, {**VALID, "labour_price": "10.0005"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"]["labour_price"]
    assert not Service.objects.exists()


@pytest.mark.parametrize("rate", ["19", "13", "7", "0", "13.00"])
def test_every_tunisian_tva_rate_is_accepted(auth_client, super_admin, rate):
    response = auth_client(super_admin).post(URL, {**VALID, "tva_rate": rate}, format="json")

    assert response.status_code == 201, response.content
    assert Decimal(response.json()["tva_rate"]) == Decimal(rate)


def test_a_duplicate_code_is_refused_whatever_its_case(auth_client, super_admin, catalogue):
    response = auth_client(super_admin).post(URL, {**VALID, "code": "oil"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "duplicate"
    assert "code" in response.json()["errors"]
    assert Service.objects.filter(code="OIL").count() == 1


# --- update and deactivation --------------------------------------------------------------------


def test_super_admin_changes_a_price(auth_client, super_admin, catalogue):
    service = catalogue["oil"]

    response = auth_client(super_admin).patch(
        detail(service.pk), {"labour_price": "50.000"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["labour_price"] == "50.000"
    service.refresh_from_db()
    assert service.labour_price == Decimal("50.000")
    entry = LogEntry.objects.get_for_object(service).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == super_admin
    assert entry.changes_dict["labour_price"] == ["45.000", "50.000"]


def test_deactivating_a_service_takes_it_out_of_the_customer_catalogue(
    auth_client, super_admin, catalogue
):
    customer = auth_client(customer_user("client1"))

    response = auth_client(super_admin).patch(
        detail(catalogue["oil"].pk), {"is_active": False}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert codes(customer.get(URL)) == ["BRK"]


def test_update_to_an_existing_code_is_refused(auth_client, super_admin, catalogue):
    response = auth_client(super_admin).patch(
        detail(catalogue["oil"].pk), {"code": "brk"}, format="json"
    )

    assert response.status_code == 400
    assert "code" in response.json()["errors"]
    catalogue["oil"].refresh_from_db()
    assert catalogue["oil"].code == "OIL"


def test_update_with_too_many_decimals_is_refused(auth_client, super_admin, catalogue):
    response = auth_client(super_admin).patch(
        detail(catalogue["oil"].pk), {"labour_price": "45.0001"}, format="json"
    )

    assert response.status_code == 400
    assert "labour_price" in response.json()["errors"]


@pytest.mark.parametrize("role", ["customer", "technician"])
def test_only_super_admin_updates_services(auth_client, technician, catalogue, role):
    user = customer_user("client1") if role == "customer" else technician

    response = auth_client(user).patch(
        detail(catalogue["oil"].pk), {"labour_price": "0.000"}, format="json"
    )

    assert response.status_code == 403
    catalogue["oil"].refresh_from_db()
    assert catalogue["oil"].labour_price == Decimal("45.000")


def test_update_unknown_service_is_404(auth_client, super_admin):
    response = auth_client(super_admin).patch(detail(99999), {"name": "x"}, format="json")

    assert response.status_code == 404


def test_services_are_never_deleted(auth_client, super_admin, catalogue):
    response = auth_client(super_admin).delete(detail(catalogue["oil"].pk))

    assert response.status_code == 405
    assert Service.objects.filter(pk=catalogue["oil"].pk).exists()


def test_put_is_not_offered(auth_client, super_admin, catalogue):
    response = auth_client(super_admin).put(detail(catalogue["oil"].pk), VALID, format="json")

    assert response.status_code == 405
