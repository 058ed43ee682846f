"""Bad requests as clients send them: a clear JSON 4xx with a code, a warning, never an ERROR."""

import json
import logging

import pytest
from django.test import Client

from config.parsers import nesting_exceeds

pytestmark = pytest.mark.django_db

LOGIN = "/api/login/"


@pytest.fixture
def no_errors_logged(caplog):
    """Fails the test when anything was logged at ERROR or above."""
    caplog.set_level(logging.INFO)
    yield caplog
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def assert_refused(response, status, code):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert body["detail"]


def test_3_mb_form_body_is_413(no_errors_logged):
    body = "username=a&password=" + "x" * (3 * 1024 * 1024)
    response = Client().post(LOGIN, body, content_type="application/x-www-form-urlencoded")

    assert_refused(response, 413, "request_too_large")
    assert any(r.levelno == logging.WARNING for r in no_errors_logged.records)


def test_20_mb_json_body_is_413(no_errors_logged):
    body = json.dumps({"username": "a", "password": "x" * (20 * 1024 * 1024)})
    response = Client().post(LOGIN, body, content_type="application/json")

    assert_refused(response, 413, "request_too_large")


def test_form_with_5000_fields_is_400(no_errors_logged):
    body = "&".join(f"f{i}=1" for i in range(5000))
    response = Client().post(LOGIN, body, content_type="application/x-www-form-urlencoded")

    assert_refused(response, 400, "too_many_fields")


def test_multipart_with_5000_fields_is_400(no_errors_logged):
    response = Client().post(LOGIN, {f"f{i}": "1" for i in range(5000)})

    assert_refused(response, 400, "too_many_fields")


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json_is_400(no_errors_logged, depth):
    body = "[" * depth + "]" * depth
    response = Client().post(LOGIN, body, content_type="application/json")

    assert_refused(response, 400, "invalid_json")


def test_deep_json_is_400_on_an_authenticated_endpoint(no_errors_logged, customer, auth_client):
    body = '{"notes": ' + "[" * 5000 + "]" * 5000 + "}"
    client = auth_client(customer)
    response = client.post("/api/appointments/", body, content_type="application/json")

    assert_refused(response, 400, "invalid_json")


def test_json_as_deep_as_allowed_is_parsed(no_errors_logged, settings):
    body = "[" * settings.API_JSON_MAX_DEPTH + "]" * settings.API_JSON_MAX_DEPTH
    response = Client().post(LOGIN, body, content_type="application/json")

    # Parsed: the serializer then refuses a list where it expects an object.
    assert_refused(response, 400, "invalid")


def test_malformed_json_is_400_invalid_json(no_errors_logged):
    response = Client().post(LOGIN, '{"username": ', content_type="application/json")

    assert_refused(response, 400, "invalid_json")


def test_nan_is_not_json(no_errors_logged):
    response = Client().post(LOGIN, '{"username": NaN}', content_type="application/json")

    assert_refused(response, 400, "invalid_json")


@pytest.mark.parametrize("charset", ["bogus-9", "hex", "base64", "zlib", "rot13"])
def test_unknown_or_not_text_charset_is_415(no_errors_logged, charset):
    body = b'{"username": "a", "password": "b"}'
    response = Client().generic(
        "POST", LOGIN, body, content_type=f"application/json; charset={charset}"
    )

    assert_refused(response, 415, "unsupported_charset")


def test_body_that_is_not_its_charset_is_400(no_errors_logged):
    response = Client().post(
        LOGIN, b'{"username": "\xff\xfe"}', content_type="application/json; charset=utf-8"
    )

    assert_refused(response, 400, "invalid_json")


def test_ordinary_login_still_works(customer, password):
    response = Client().post(
        LOGIN,
        {"username": customer.username, "password": password},
        content_type="application/json",
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "text, deeper_than_2",
    [
        ("[[1]]", False),
        ("[[[1]]]", True),
        ('{"a": "[[[[[["}', False),
        ('{"a": "\\"[[[["}', False),
        ("[[], [], {}]", False),
        ("[[], [[]], {}]", True),
        ("[[], [[[]]]]", True),
        ("[[[", True),
        ("]]][[", False),
    ],
)
def test_nesting_depth_ignores_strings_and_siblings(text, deeper_than_2):
    assert nesting_exceeds(text, 2) is deeper_than_2
