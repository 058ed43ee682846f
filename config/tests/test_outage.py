"""Redis or PostgreSQL down: 503 JSON with Retry-After, fail closed, recovery without a restart.

Each test runs its own private server (config/tests/servers.py) and stops it; the shared
PostgreSQL and Redis are never touched.
"""

import logging
import os
import signal
import subprocess

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import close_old_connections, connections
from rest_framework.test import APIClient

from accounts.models import AuthEvent, Role
from accounts.services import user_create
from accounts.tokens import token_pair
from config.settings.base import redis_cache
from config.tests.servers import PG_BIN, PrivatePostgres, PrivateRedis

PASSWORD = "Garage#Pass2026"


def _assert_unavailable(response):
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "service_unavailable"
    assert int(response["Retry-After"]) > 0


def _bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(user)['access']}")
    return client


def _login(client, username="outage-user"):
    return client.post("/api/login/", {"username": username, "password": PASSWORD})


def _no_error_logged(caplog):
    return [record for record in caplog.records if record.levelno >= logging.ERROR] == []


# --- Redis ---------------------------------------------------------------------------------------


@pytest.fixture
def private_redis(settings):
    server = PrivateRedis()
    server.start()
    settings.CACHES = {"default": redis_cache(server.url())}
    yield server
    server.remove()


@pytest.fixture
def user(db):
    return user_create(username="outage-user", password=PASSWORD, role=Role.CUSTOMER)


def test_login_fails_closed_while_redis_is_down_and_recovers_by_itself(
    private_redis, user, api_client, caplog
):
    assert _login(api_client).status_code == 200

    private_redis.stop()
    refused = [_login(api_client) for _ in range(3)]
    wrong_password = api_client.post(
        "/api/login/", {"username": user.username, "password": "wrong"}
    )

    for response in [*refused, wrong_password]:
        _assert_unavailable(response)
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_FAILED).exists()
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_SUCCEEDED).count() == 1
    assert _no_error_logged(caplog)

    private_redis.start()
    assert _login(api_client).status_code == 200


def test_without_redis_what_needs_no_cache_keeps_working(private_redis, user, caplog):
    client = _bearer(user)
    private_redis.stop()

    assert client.get("/api/protected/").json()["username"] == user.username
    assert client.get("/api/vehicles/").status_code == 200
    assert client.get("/api/me/").status_code == 200
    health = client.get("/api/health/")
    assert (health.status_code, health.json()) == (503, {"database": "ok", "cache": "down"})
    # Rate-limited operations refuse rather than run without their counters.
    _assert_unavailable(client.get("/api/download_user_data/"))
    _assert_unavailable(
        client.post(
            "/api/password/change/",
            {"current_password": PASSWORD, "new_password": "Another#Pass2027"},
        )
    )
    assert user.check_password(PASSWORD)
    assert _no_error_logged(caplog)


def test_a_hung_redis_times_out_into_a_503(private_redis, user, api_client):
    os.kill(private_redis.process.pid, signal.SIGSTOP)
    try:
        _assert_unavailable(_login(api_client))
    finally:
        os.kill(private_redis.process.pid, signal.SIGCONT)
    assert _login(api_client).status_code == 200


# --- PostgreSQL ----------------------------------------------------------------------------------


@pytest.fixture
def private_database(transactional_db):
    """Point the default connection at a private server holding a copy of the test schema."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): CI runs it there")
    server = PrivatePostgres()
    server.start()
    server.createdb("ecar")
    source = connection.settings_dict
    dump = subprocess.run(  # noqa: S603
        [
            str(PG_BIN / "pg_dump"), "--schema-only", "--no-owner", "-h", source["HOST"],
            "-p", str(source["PORT"] or 5432), "-U", source["USER"], source["NAME"],
        ],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(  # noqa: S603
        [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", server.url("ecar")],
        input=dump,
        check=True,
        capture_output=True,
    )
    original = dict(source)
    connection.close()
    source.update(HOST="127.0.0.1", PORT=str(server.port), NAME="ecar")
    ContentType.objects.clear_cache()  # its ids are those of the test database
    try:
        user_create(username="outage-user", password=PASSWORD, role=Role.CUSTOMER)
        yield server
    finally:
        connection.close()
        source.clear()
        source.update(original)
        ContentType.objects.clear_cache()
        server.remove()


class ServerLikeClient(APIClient):
    """Drops unusable connections after each request as a WSGI server does (the test client
    skips Django's request_finished handler that does it)."""

    def request(self, **request):
        response = super().request(**request)
        close_old_connections()
        return response


def test_database_down_is_a_503_json_and_the_api_recovers_by_itself(private_database, caplog):
    client = ServerLikeClient()
    body = _login(client).json()
    bearer = ServerLikeClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")

    private_database.stop()
    _assert_unavailable(_login(client))
    _assert_unavailable(bearer.get("/api/protected/"))
    _assert_unavailable(bearer.get("/api/vehicles/"))
    health = client.get("/api/health/")
    assert (health.status_code, health.json()) == (503, {"database": "down", "cache": "ok"})
    assert _no_error_logged(caplog)

    private_database.start()
    assert _login(client).status_code == 200
    assert bearer.get("/api/protected/").json()["username"] == "outage-user"
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_SUCCEEDED).count() == 2
