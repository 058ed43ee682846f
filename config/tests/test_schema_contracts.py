"""Contracts checked over the whole OpenAPI schema: no personal data in URLs, nothing cached."""

import re

import pytest
from django.apps import apps
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Role
from garage.selectors.customers import CUSTOMER_SEARCH_FIELDS
from privacy.fields import EncryptedFieldMixin, EncryptedJSONField

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def personal_names() -> set[str]:
    """Every encrypted value's name, plus the names the search bodies use for them."""
    # JSON snapshots (an invoice's frozen `vehicle`) share their name with id filters.
    names = {
        field.name
        for model in apps.get_models()
        for field in model._meta.fields
        if isinstance(field, EncryptedFieldMixin) and not isinstance(field, EncryptedJSONField)
    }
    return names | set(CUSTOMER_SEARCH_FIELDS)


def operations(schema, method):
    for path, item in schema["paths"].items():
        if method in item:
            yield path, item[method]


def test_personal_names_cover_the_searched_identifiers():
    assert {"email", "phone", "national_id", "cin", "tax_id", "plate", "vin"} <= personal_names()


def test_no_get_operation_takes_personal_data_in_its_query(schema):
    personal = personal_names()
    offending = [
        (path, parameter["name"])
        for path, operation in operations(schema, "get")
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query" and parameter["name"] in personal
    ]

    assert offending == []


def test_exact_searches_are_post_operations_with_a_body(schema):
    for path in ("/api/customers/search/", "/api/vehicles/search/"):
        assert set(schema["paths"][path]) == {"post"}
        assert "requestBody" in schema["paths"][path]["post"]


def test_every_authenticated_get_is_no_store(schema, make_user, auth_client):
    client = auth_client(make_user("boss", Role.SUPER_ADMIN))
    paths = [re.sub(r"\{[^}]+\}", "1", path) for path, _ in operations(schema, "get")]
    assert len(paths) > 20

    missing = [
        (path, response.status_code, response.get("Cache-Control"))
        for path in paths
        if "no-store" not in (response := client.get(path)).get("Cache-Control", "")
    ]

    assert missing == []
