"""Login, the protected probe, forged and stale bearer tokens, logout and the refresh cookie."""

import base64
import json
import time
from datetime import timedelta
from io import StringIO
from urllib.parse import urlencode

import jwt
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import AuthEvent, Role, User
from accounts.services import INVALID_CREDENTIALS, username_digest
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/login/"
REFRESH = "/api/token/refresh/"
LOGOUT = "/api/logout/"
COOKIE_LOGOUT = "/api/token/logout/"
PROTECTED = "/api/protected/"

CLIENT_IP = "203.0.113.9"
USER_AGENT = "ecar-tests/1.0 (pytest)"

# --- helpers ---------------------------------------------------------------------------------


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_payload(token: str) -> dict:
    return json.loads(unb64url(token.split(".")[1]))


def jti(token: str) -> str:
    return jwt_payload(token)[jwt_settings.JTI_CLAIM]


def get_protected(token: str | None = None, header: str | None = None):
    client = APIClient()
    if token is not None:
        header = f"Bearer {token}"
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get(PROTECTED)


def assert_json_401(response, code: str | None = None) -> dict:
    """A 401 whose body is the API's JSON error shape (and, if given, with this code)."""
    assert response.status_code == 401, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_no_plaintext(event: AuthEvent, username: str) -> None:
    """No column of the auth event row holds the attempted username (in any letter case)."""
    for field in AuthEvent._meta.concrete_fields:
        value = getattr(event, field.attname)
        assert username.lower() not in str(value).lower(), field.name


@pytest.fixture
def user():
    return UserFactory(username="garagiste")


@pytest.fixture
def tokens(login, user):
    return login(user.username)


# --- login -----------------------------------------------------------------------------------


def _assert_login_ok(response, user):
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"] == {"id": user.id, "username": user.username, "role": user.role}
    assert OutstandingToken.objects.filter(user=user, jti=jti(body["refresh"])).exists()
    assert get_protected(body["access"]).status_code == 200
    return body


def test_login_with_multipart_form_fields(api_client, user):
    response = api_client.post(LOGIN, {"username": user.username, "password": PASSWORD})

    _assert_login_ok(response, user)


def test_login_with_urlencoded_form_body_as_curl_sends_it(api_client, user):
    response = api_client.post(
        LOGIN,
        urlencode({"username": user.username, "password": PASSWORD}),
        content_type="application/x-www-form-urlencoded",
    )

    _assert_login_ok(response, user)


def test_login_with_json(api_client, user):
    response = api_client.post(
        LOGIN, {"username": user.username, "password": PASSWORD}, format="json"
    )

    _assert_login_ok(response, user)


def test_login_records_success_with_ip_and_user_agent(api_client, user):
    api_client.post(
        LOGIN,
        {"username": user.username, "password": PASSWORD},
        REMOTE_ADDR=CLIENT_IP,
        HTTP_USER_AGENT=USER_AGENT,
    )

    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOGIN_SUCCEEDED)
    assert event.user == user
    assert event.ip == CLIENT_IP
    assert event.user_agent == USER_AGENT
    user.refresh_from_db()
    assert user.last_login is not None


def test_createsuperuser_user_is_super_admin_and_can_log_in(api_client, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)

    call_command("createsuperuser", interactive=False, username="rootadmin", stdout=StringIO())

    user = User.objects.get(username="rootadmin")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.SUPER_ADMIN, True, True)
    body = _assert_login_ok(
        api_client.post(LOGIN, {"username": "rootadmin", "password": PASSWORD}), user
    )
    assert body["user"]["role"] == "super_admin"


@pytest.mark.parametrize(
    "case", ["wrong_password", "unknown_user", "inactive_user"], ids=lambda case: case
)
def test_failed_login_records_digest_never_plaintext(api_client, case):
    known = UserFactory(username="mechanic7", inactive=case == "inactive_user")
    username = "ghostuser" if case == "unknown_user" else known.username
    password = "Wrong#Pass2026" if case == "wrong_password" else PASSWORD

    response = api_client.post(
        LOGIN,
        {"username": username, "password": password},
        REMOTE_ADDR=CLIENT_IP,
        HTTP_USER_AGENT=USER_AGENT,
    )

    assert response.json() == {"detail": INVALID_CREDENTIALS, "code": "invalid_credentials"}
    assert_json_401(response)
    event = AuthEvent.objects.get()
    assert event.kind == AuthEvent.Kind.LOGIN_FAILED
    assert event.user == (None if case == "unknown_user" else known)
    assert event.username_digest == username_digest(username)
    assert len(event.username_digest) == 64
    assert (event.ip, event.user_agent) == (CLIENT_IP, USER_AGENT)
    assert_no_plaintext(event, username)
    assert not OutstandingToken.objects.exists()


def test_failed_logins_give_identical_answers(api_client):
    UserFactory(username="mechanic7")
    UserFactory(username="retired7", inactive=True)
    attempts = [
        ("mechanic7", "Wrong#Pass2026"),
        ("ghostuser", PASSWORD),
        ("retired7", PASSWORD),
    ]

    responses = [api_client.post(LOGIN, {"username": u, "password": p}) for u, p in attempts]

    assert {r.status_code for r in responses} == {401}
    assert len({r.content for r in responses}) == 1


@pytest.mark.parametrize(
    "data, missing",
    [({}, {"username", "password"}), ({"username": "garagiste"}, {"password"})],
    ids=["nothing", "no_password"],
)
def test_login_missing_fields_is_400_with_errors(api_client, data, missing):
    response = api_client.post(LOGIN, data, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == missing
    assert not AuthEvent.objects.exists()


# --- the protected probe and what it refuses -------------------------------------------------


@pytest.mark.parametrize("role", Role.values)
def test_protected_answers_every_role(login, role, django_assert_num_queries):
    user = UserFactory(role=role)
    access = login(user.username)["access"]

    # The generation check reuses the user row SimpleJWT loads anyway: one query in all.
    with django_assert_num_queries(1):
        response = get_protected(access)

    assert response.status_code == 200
    assert response.json() == {"id": user.id, "username": user.username, "role": role}


def test_protected_without_header_is_401():
    assert_json_401(get_protected(), "not_authenticated")


@pytest.mark.parametrize(
    "header, code",
    [
        ("Bearer", "bad_authorization_header"),
        ("Bearer a.b", "token_invalid"),
        ("Token x", "not_authenticated"),
        ("Bearer a b", "bad_authorization_header"),
    ],
)
def test_protected_with_malformed_header_is_401(header, code):
    assert_json_401(get_protected(header=header), code)


def test_access_rebuilt_and_resigned_with_the_real_key_is_accepted(tokens):
    """Control for the forgeries below: the hand-built tokens fail for the one reason tested."""
    token = AccessToken(tokens["access"])
    token.set_exp(lifetime=timedelta(minutes=5))
    hand_signed = jwt.encode(jwt_payload(tokens["access"]), jwt_settings.SIGNING_KEY, "HS256")

    assert get_protected(str(token)).status_code == 200
    assert get_protected(hand_signed).status_code == 200


def test_expired_access_token_is_401_token_expired(tokens):
    token = AccessToken(tokens["access"])
    token.set_exp(lifetime=-timedelta(seconds=1))

    assert_json_401(get_protected(str(token)), "token_expired")


def test_a_token_accepted_before_is_refused_once_it_has_expired(tokens):
    token = AccessToken(tokens["access"])
    token.set_exp(lifetime=timedelta(seconds=2))
    raw = str(token)
    assert get_protected(raw).status_code == 200  # verified, and kept as verified

    time.sleep(2.1)

    assert_json_401(get_protected(raw), "token_expired")


def test_access_with_edited_payload_is_401(tokens):
    other = UserFactory(technician=True)
    header, _payload, signature = tokens["access"].split(".")
    claims = jwt_payload(tokens["access"])
    claims["user_id"] = str(other.id)  # SimpleJWT writes the id as a string
    forged = ".".join([header, b64url(json.dumps(claims).encode()), signature])

    assert_json_401(get_protected(forged), "token_invalid")


def test_access_with_flipped_signature_bit_is_401(tokens):
    header, payload, signature = tokens["access"].split(".")
    raw = bytearray(unb64url(signature))
    raw[0] ^= 0x01
    forged = ".".join([header, payload, b64url(bytes(raw))])

    assert_json_401(get_protected(forged), "token_invalid")


def test_access_with_alg_none_is_401(tokens):
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = tokens["access"].split(".")[1]

    assert_json_401(get_protected(f"{header}.{payload}."), "token_invalid")


def test_access_signed_with_another_key_is_401(tokens):
    forged = jwt.encode(jwt_payload(tokens["access"]), "another-key-" + "k" * 52, "HS256")

    assert_json_401(get_protected(forged), "token_invalid")


def test_access_signed_hs512_with_the_right_key_is_401(tokens):
    forged = jwt.encode(jwt_payload(tokens["access"]), jwt_settings.SIGNING_KEY, "HS512")

    assert_json_401(get_protected(forged), "token_invalid")


def test_refresh_token_as_bearer_is_401(tokens):
    assert_json_401(get_protected(tokens["refresh"]), "token_invalid")


# --- logout ----------------------------------------------------------------------------------


def test_logout_blacklists_refresh_and_ends_access_at_once(api_client, user, tokens):
    response = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 204
    assert BlacklistedToken.objects.filter(token__jti=jti(tokens["refresh"])).exists()
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGGED_OUT, user=user).count() == 1
    assert_json_401(get_protected(tokens["access"]), "token_revoked")
    assert_json_401(api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"))


def test_logout_twice_is_idempotent(api_client, tokens):
    first = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    second = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")

    assert (first.status_code, second.status_code) == (204, 204)
    assert BlacklistedToken.objects.filter(token__jti=jti(tokens["refresh"])).count() == 1


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c"])
def test_logout_with_garbage_is_401(api_client, garbage):
    response = api_client.post(LOGOUT, {"refresh": garbage}, format="json")

    assert_json_401(response, "token_not_valid")
    assert not AuthEvent.objects.exists()


def test_logout_with_an_access_token_is_401(api_client, tokens):
    response = api_client.post(LOGOUT, {"refresh": tokens["access"]}, format="json")

    assert_json_401(response, "token_not_valid")
    assert get_protected(tokens["access"]).status_code == 200


# --- cookie mode (web clients) ---------------------------------------------------------------


@pytest.fixture
def web_client():
    """A browser-like client: CSRF enforced, cookies kept between requests."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def cookie_login(web_client, user):
    response = web_client.post(
        LOGIN, {"username": user.username, "password": PASSWORD, "cookie": True}, format="json"
    )
    assert response.status_code == 200, response.content
    return response


def test_cookie_login_puts_refresh_only_in_httponly_cookie(cookie_login, user):
    body = cookie_login.json()
    cookie = cookie_login.cookies["ecar_refresh"]

    assert body["refresh"] is None
    assert body["access"] and body["csrf_token"]
    assert body["user"]["id"] == user.id
    assert OutstandingToken.objects.filter(user=user, jti=jti(cookie.value)).exists()
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/token/"
    assert cookie["max-age"] == 7 * 24 * 3600
    assert not cookie["secure"]  # plain http in dev and tests
    assert "csrftoken" in cookie_login.cookies


def test_cookie_is_secure_when_configured(settings, user):
    settings.REFRESH_COOKIE_SECURE = True

    response = APIClient().post(
        LOGIN, {"username": user.username, "password": PASSWORD, "cookie": True}, format="json"
    )

    assert response.cookies["ecar_refresh"]["secure"] is True


def test_cookie_refresh_without_csrf_header_is_403(web_client, cookie_login):
    refresh = cookie_login.cookies["ecar_refresh"].value

    response = web_client.post(REFRESH)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["detail"]
    assert not BlacklistedToken.objects.filter(token__jti=jti(refresh)).exists()


def test_cookie_refresh_with_csrf_header_rotates_the_cookie(web_client, cookie_login):
    old = cookie_login.cookies["ecar_refresh"].value

    response = web_client.post(REFRESH, HTTP_X_CSRFTOKEN=cookie_login.json()["csrf_token"])

    assert response.status_code == 200, response.content
    assert response.json()["refresh"] is None
    assert get_protected(response.json()["access"]).status_code == 200
    new = response.cookies["ecar_refresh"]
    assert new.value and new.value != old
    assert new["httponly"] is True and new["path"] == "/api/token/"
    assert BlacklistedToken.objects.filter(token__jti=jti(old)).exists()


def test_cookie_logout_with_csrf_deletes_the_cookie(web_client, cookie_login, user):
    refresh = cookie_login.cookies["ecar_refresh"].value

    response = web_client.post(COOKIE_LOGOUT, HTTP_X_CSRFTOKEN=cookie_login.json()["csrf_token"])

    assert response.status_code == 204
    deleted = response.cookies["ecar_refresh"]
    assert deleted.value == ""
    assert deleted["max-age"] == 0
    assert deleted["path"] == "/api/token/"
    assert BlacklistedToken.objects.filter(token__jti=jti(refresh)).exists()
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGGED_OUT, user=user).exists()


def test_cookie_logout_without_csrf_header_is_403(web_client, cookie_login):
    refresh = cookie_login.cookies["ecar_refresh"].value

    response = web_client.post(COOKIE_LOGOUT)

    assert response.status_code == 403
    assert not BlacklistedToken.objects.filter(token__jti=jti(refresh)).exists()
