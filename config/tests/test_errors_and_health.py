"""The API's error shape in every environment, the health probe, the schema, docs and headers."""

import json
import logging
from html.parser import HTMLParser
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from rest_framework.test import APIClient

from config.tests.error_urls import SECRET_MESSAGE

ERROR_URLS = "config.tests.error_urls"
SERVER_ERROR = {"detail": "Internal server error.", "code": "server_error"}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def crash_client():
    """A client that returns the 500 response instead of re-raising the view's exception."""
    return APIClient(raise_request_exception=False)


# --- Error shape --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/nope/", "/api/login/extra/", "/api/nope", "/api/"])
def test_unknown_api_url_is_a_json_404(api_client, debug, url):
    response = api_client.get(url)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


def test_unknown_api_url_with_post_is_a_json_404(api_client, debug):
    response = api_client.post("/api/nope/", {"username": "x"}, format="json")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_disallowed_host_on_the_api_is_a_json_400(api_client):
    response = api_client.get("/api/health/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request.", "code": "bad_request"}


def test_unknown_url_outside_the_api_is_not_json(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "url", "verb"),
    [("get", "/api/login/", "GET"), ("delete", "/api/health/", "DELETE")],
)
def test_wrong_method_is_a_json_405(api_client, method, url, verb):
    response = getattr(api_client, method)(url)

    assert response.status_code == 405
    assert response.json() == {
        "detail": f'Method "{verb}" not allowed.',
        "code": "method_not_allowed",
    }


@pytest.mark.django_db
def test_malformed_json_is_a_json_400(api_client, debug):
    response = api_client.post(
        "/api/login/", data='{"username": "customer1", ', content_type="application/json"
    )

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "invalid_json"
    assert body["detail"].startswith("JSON parse error")


def test_unsupported_media_type_is_a_json_415(api_client):
    response = api_client.post("/api/login/", data="username=x", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.urls(ERROR_URLS)
@pytest.mark.parametrize("url", ["/api/test/boom/", "/api/test/boom-plain/"])
def test_unhandled_exception_is_a_json_500_without_details(crash_client, debug, url):
    response = crash_client.get(url)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == SERVER_ERROR
    text = response.content.decode()
    for leak in ("Traceback", "RuntimeError", SECRET_MESSAGE, "error_urls.py"):
        assert leak not in text


@pytest.mark.urls(ERROR_URLS)
def test_unhandled_exception_is_logged_without_the_query_string(crash_client, caplog):
    with caplog.at_level(logging.ERROR, logger="ecar.errors"):
        crash_client.get("/api/test/boom/?email=sami@example.tn")

    [record] = [r for r in caplog.records if r.name == "ecar.errors"]
    assert record.getMessage() == "Unhandled RuntimeError on GET /api/test/boom/"
    assert record.exc_info is not None


@pytest.mark.urls(ERROR_URLS)
@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="statement_timeout: PostgreSQL")
def test_an_error_of_a_server_that_answered_is_a_500_not_an_outage(crash_client, caplog):
    with caplog.at_level(logging.ERROR, logger="ecar.errors"):
        response = crash_client.get("/api/test/cancelled-query/")

    assert response.status_code == 500 and response.json() == SERVER_ERROR
    [record] = [r for r in caplog.records if r.name == "ecar.errors"]
    assert record.getMessage() == "Unhandled OperationalError on GET /api/test/cancelled-query/"


# --- Health -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_reports_database_and_cache(api_client):
    response = api_client.get("/api/health/")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_health_needs_no_authentication_and_ignores_a_bad_token(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")

    assert api_client.get("/api/health/").status_code == 200


@pytest.mark.django_db
def test_health_with_the_cache_down_is_503(api_client):
    with mock.patch(
        "django.core.cache.cache.set", side_effect=ConnectionError("redis://secret-host down")
    ):
        response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "down"}
    assert b"secret-host" not in response.content


@pytest.mark.django_db
def test_health_with_a_cache_that_loses_writes_is_503(api_client):
    with mock.patch("django.core.cache.cache.get", return_value=None):
        response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "down"}


@pytest.mark.django_db
def test_health_with_the_database_down_is_503(api_client, monkeypatch):
    def _database_ok():
        raise ConnectionError("postgres://user:pw@db down")

    monkeypatch.setattr("config.views._database_ok", _database_ok)

    response = api_client.get("/api/health/")

    assert response.status_code == 503
    assert response.json() == {"database": "down", "cache": "ok"}
    assert b"pw@db" not in response.content


# --- Schema and docs ----------------------------------------------------------------------------


def test_schema_is_an_openapi_3_document_with_every_endpoint(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/login/",
        "/api/token/refresh/",
        "/api/logout/",
        "/api/protected/",
        "/api/password/change/",
        "/api/health/",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    assert schema["paths"]["/api/protected/"]["get"]["security"] == [{"jwtAuth": []}]


def test_schema_default_format_is_yaml(api_client):
    response = api_client.get("/api/schema/")

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


class _AssetCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.assets = []
        self.inline_scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("src"):
                self.assets.append(attrs["src"])
            else:
                self.inline_scripts += 1
        elif tag == "link" and attrs.get("href"):
            self.assets.append(attrs["href"])


def test_docs_are_html_served_from_local_assets(api_client, settings):
    response = api_client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "http://" not in html
    assert "https://" not in html
    parser = _AssetCollector()
    parser.feed(html)
    # CSP has no 'unsafe-inline' for scripts: every script must be a same-origin file.
    assert parser.inline_scripts == 0
    assert len(parser.assets) >= 3
    for asset in parser.assets:
        parts = urlsplit(asset)
        assert not parts.scheme and not parts.netloc, asset
        if parts.path.startswith(settings.STATIC_URL):
            relative = parts.path.removeprefix(settings.STATIC_URL)
            assert finders.find(relative), f"{asset} is not a local static file"
        else:
            served = api_client.get(asset)
            assert served.status_code == 200, asset
            assert b"https://" not in served.content
            assert b"http://" not in served.content


def test_docs_load_the_swagger_ui_bundle(api_client, settings):
    parser = _AssetCollector()
    parser.feed(api_client.get("/api/docs/").content.decode())

    assert any(asset.endswith("swagger-ui-bundle.js") for asset in parser.assets)
    assert any(asset.endswith("swagger-ui.css") for asset in parser.assets)


# --- Security headers ---------------------------------------------------------------------------


def assert_security_headers(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/api/health/", 200),
        ("get", "/api/protected/", 401),
        ("get", "/api/nope/", 404),
        ("get", "/api/login/", 405),
        ("get", "/api/docs/", 200),
    ],
)
def test_security_headers_on_api_responses(api_client, method, url, status):
    response = getattr(api_client, method)(url)

    assert response.status_code == status
    assert_security_headers(response)


@pytest.mark.urls(ERROR_URLS)
def test_security_headers_on_a_500(crash_client):
    response = crash_client.get("/api/test/boom/")

    assert response.status_code == 500
    assert_security_headers(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/services/null/",
        "/api/parts/p/movements/",
        "/api/appointments/null,null/",
        "/api/service-orders/abc/",
        "/api/customers/99999999999999999999/",
    ],
)
def test_a_non_numeric_or_huge_id_is_a_json_404(super_admin, auth_client, url):
    response = auth_client(super_admin).get(url)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_a_filter_value_too_large_for_its_column_is_a_400(super_admin, auth_client):
    response = auth_client(super_admin).get(
        "/api/service-orders/", {"vehicle": "9" * 30, "technician": "9" * 30}
    )

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_options_is_not_described_and_not_a_server_error(super_admin, auth_client):
    response = auth_client(super_admin).options("/api/service-orders/")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_a_bad_host_under_api_is_json_even_with_debug(client, settings):
    settings.DEBUG = True

    response = client.get("/api/health/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response.json() == {"detail": "Bad Request.", "code": "bad_request"}
