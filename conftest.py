"""Fixtures shared by every app's tests: API client, users of each role, a clean cache."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import user_create

PASSWORD = "Garage#Pass2026"


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit counters must not leak from one test to the next."""
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    yield


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def make_user(db):
    def make(username="someone", role=Role.CUSTOMER, password=PASSWORD):
        return user_create(username=username, password=password, role=role)

    return make


@pytest.fixture
def customer(make_user):
    return make_user("customer1", Role.CUSTOMER)


@pytest.fixture
def technician(make_user):
    return make_user("tech1", Role.TECHNICIAN)


@pytest.fixture
def super_admin(make_user):
    return make_user("boss", Role.SUPER_ADMIN)


@pytest.fixture
def login(api_client):
    """Log a user in through the API and return the response body."""

    def do(username, password=PASSWORD, client=None, **extra):
        response = (client or api_client).post(
            "/api/login/", {"username": username, "password": password, **extra}
        )
        assert response.status_code == 200, response.content
        return response.json()

    return do


@pytest.fixture
def auth_client(login):
    """An API client authenticated as the given user with a real bearer token."""

    def make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {login(user.username)['access']}")
        return client

    return make
