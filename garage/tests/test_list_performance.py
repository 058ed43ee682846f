"""Lists do a fixed amount of work: flat query counts, only the shown columns, a plain COUNT."""

import re

import django_filters
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from garage.models import ServiceOrder
from garage.tests.factories import CustomerFactory, VehicleFactory
from garage.tests.order_helpers import order_with_lines

pytestmark = pytest.mark.django_db

LISTS = ["/api/customers/", "/api/vehicles/", "/api/service-orders/"]
# Customer columns neither list shows: never selected, so never decrypted.
UNSHOWN_CUSTOMER_COLUMNS = [
    "tax_id",
    "national_id",
    "phone_secondary",
    "email",
    "address",
]


def add_rows(admin, count: int) -> None:
    """`count` customers, vehicles and service orders (with a labour and a part line)."""
    for _ in range(count):
        order_with_lines(admin, vehicle=VehicleFactory(customer=CustomerFactory()))


def selects_from(queries, table: str) -> list[str]:
    return [q["sql"] for q in queries if re.search(rf'FROM "{table}"', q["sql"])]


def test_list_query_counts_are_the_same_for_1_and_20_rows(auth_client, super_admin):
    client = auth_client(super_admin)
    add_rows(super_admin, 1)
    one = {}
    for url in LISTS:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        one[url] = len(queries)
    add_rows(super_admin, 19)
    for url in LISTS:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert len(response.json()["results"]) == 20
        assert len(queries) == one[url], url


def test_customer_list_selects_only_the_columns_it_shows(auth_client, super_admin):
    add_rows(super_admin, 2)
    with CaptureQueriesContext(connection) as queries:
        response = auth_client(super_admin).get("/api/customers/")
    row = response.json()["results"][0]
    assert row["full_name"].startswith("Client Test") and row["phone"].startswith("+216")
    [page] = [sql for sql in selects_from(queries, "garage_customer") if "COUNT" not in sql]
    assert '"garage_customer"."full_name"' in page
    for column in UNSHOWN_CUSTOMER_COLUMNS:
        assert f'"garage_customer"."{column}"' not in page


def test_order_list_loads_the_customer_name_only(auth_client, super_admin):
    add_rows(super_admin, 2)
    with CaptureQueriesContext(connection) as queries:
        response = auth_client(super_admin).get("/api/service-orders/")
    order = response.json()["results"][0]
    assert order["customer"]["full_name"].startswith("Client Test")
    assert order["vehicle"]["plate"]
    [page] = [sql for sql in selects_from(queries, "garage_serviceorder") if "COUNT" not in sql]
    assert '"garage_customer"."full_name"' in page
    for column in UNSHOWN_CUSTOMER_COLUMNS:
        assert f'"garage_customer"."{column}"' not in page


def test_customer_reads_its_own_order_although_the_list_defers_customer_columns(
    auth_client, super_admin
):
    order = order_with_lines(super_admin)
    owner = order.customer.user
    response = auth_client(owner).get(f"/api/service-orders/{order.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == order.pk


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/vehicles/", {}),
        ("/api/vehicles/", {"fuel": "diesel", "page": 1}),
        ("/api/service-orders/", {}),
        ("/api/service-orders/", {"status": ServiceOrder.Status.DRAFT}),
    ],
)
def test_pagination_count_leaves_the_odometer_subquery_out(url, params, auth_client, super_admin):
    add_rows(super_admin, 3)
    with CaptureQueriesContext(connection) as queries:
        response = auth_client(super_admin).get(url, params)
    assert response.json()["count"] == 3
    [count] = [q["sql"] for q in queries if "COUNT(" in q["sql"]]
    assert "garage_odometerreading" not in count
    # The page itself still carries the last reading.
    assert any("garage_odometerreading" in q["sql"] for q in queries if q["sql"] != count)


class _FilterSetCounter:
    """Counts FilterSets built while it is installed (the real class still does the work)."""

    def __init__(self, monkeypatch):
        self.built = 0
        real_init = django_filters.FilterSet.__init__

        def counting_init(filterset, *args, **kwargs):
            self.built += 1
            real_init(filterset, *args, **kwargs)

        monkeypatch.setattr(django_filters.FilterSet, "__init__", counting_init)


def test_lists_without_filter_parameters_build_no_filterset(
    auth_client, super_admin, monkeypatch
):
    add_rows(super_admin, 2)
    client = auth_client(super_admin)
    counter = _FilterSetCounter(monkeypatch)
    for url in LISTS:
        response = client.get(url, {"page": 1, "page_size": 1, "ordering": "-created_at"})
        assert response.status_code == 200
        assert response.json()["count"] == 2
        assert len(response.json()["results"]) == 1
    assert counter.built == 0

    assert client.get("/api/vehicles/", {"fuel": "electric"}).json()["count"] == 0
    assert client.get("/api/vehicles/", {"fuel": "diesel"}).json()["count"] == 2
    assert counter.built == 2


def test_filter_parameters_are_still_validated(auth_client, super_admin):
    client = auth_client(super_admin)
    response = client.get("/api/customers/", {"page": 1, "kind": "not a kind"})
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]
    response = client.get("/api/service-orders/", {"vehicle": "0"})
    assert response.status_code == 400
    assert "vehicle" in response.json()["errors"]
