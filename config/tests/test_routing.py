"""One routing contract under /api/: JSON 404/405 before authentication, permissions or CSRF."""

import pytest
from django.test import Client

from accounts.models import Role

pytestmark = pytest.mark.django_db


def csrf_client():
    """A client that enforces CSRF the way a browser session would meet it."""
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("path", ["/api/no-such-thing/", "/api/login", "/api/customers/1/nope/"])
def test_unknown_path_is_json_404_for_every_method(method, path):
    response = getattr(csrf_client(), method)(path)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("role", [None, Role.CUSTOMER, Role.TECHNICIAN, Role.SUPER_ADMIN])
@pytest.mark.parametrize("path", ["/api/customers/", "/api/me/", "/api/login/", "/api/health/"])
def test_options_is_the_same_405_for_every_role(role, path, make_user, auth_client):
    client = auth_client(make_user(f"u-{role}", role)) if role else Client()

    response = client.options(path)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "OPTIONS" not in response["Allow"]


@pytest.mark.parametrize("role", [None, Role.CUSTOMER, Role.SUPER_ADMIN])
def test_unsupported_method_is_405_before_authentication(role, make_user, auth_client):
    client = auth_client(make_user(f"u-{role}", role)) if role else csrf_client()

    response = client.put("/api/customers/")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD, POST"


def test_delete_login_is_405_not_csrf():
    response = csrf_client().delete("/api/login/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_cors_preflight_is_still_answered(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.tn"]
    response = Client().options(
        "/api/login/",
        HTTP_ORIGIN="https://app.example.tn",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.example.tn"
