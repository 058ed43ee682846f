"""Refresh rotation and reuse detection, lifetimes, races, password change and deactivation."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import AuthEvent
from accounts.services import user_revoke_sessions
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.test_auth_api import assert_json_401, get_protected, jti, jwt_payload

REFRESH = "/api/token/refresh/"
PASSWORD_CHANGE = "/api/password/change/"
NEW_PASSWORD = "Fresh#Brakes2027"


def refresh(token: str, client=None):
    return (client or APIClient()).post(REFRESH, {"refresh": token}, format="json")


def is_blacklisted(token: str) -> bool:
    return BlacklistedToken.objects.filter(token__jti=jti(token)).exists()


def events(kind: str, user) -> int:
    return AuthEvent.objects.filter(kind=kind, user=user).count()


@pytest.fixture
def user(db):
    return UserFactory(username="garagiste")


@pytest.fixture
def tokens(login, user):
    return login(user.username)


# --- rotation and reuse ----------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_rotates_and_blacklists_the_old_token(user, tokens):
    response = refresh(tokens["refresh"])

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != tokens["refresh"]
    assert is_blacklisted(tokens["refresh"])
    assert not is_blacklisted(body["refresh"])
    assert OutstandingToken.objects.filter(user=user, jti=jti(body["refresh"])).exists()
    assert get_protected(body["access"]).status_code == 200
    assert events(AuthEvent.Kind.TOKEN_REFRESHED, user) == 1


@pytest.mark.django_db
def test_reused_refresh_token_revokes_every_session(user, tokens):
    rotated = refresh(tokens["refresh"]).json()

    reuse = refresh(tokens["refresh"])

    assert_json_401(reuse, "token_reused")
    assert events(AuthEvent.Kind.REFRESH_REUSED, user) == 1
    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    assert_json_401(refresh(rotated["refresh"]))
    assert_json_401(get_protected(rotated["access"]), "token_revoked")
    assert_json_401(get_protected(tokens["access"]), "token_revoked")
    assert events(AuthEvent.Kind.TOKEN_REFRESHED, user) == 1


@pytest.mark.django_db
def test_reuse_leaves_other_users_sessions_alone(login, user, tokens):
    other = UserFactory()
    others = login(other.username)
    refresh(tokens["refresh"])

    refresh(tokens["refresh"])

    assert get_protected(others["access"]).status_code == 200
    assert refresh(others["refresh"]).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("data", [{}, {"refresh": ""}], ids=["absent", "empty"])
def test_refresh_without_token_is_400(data):
    response = APIClient().post(REFRESH, data, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()["errors"]


@pytest.mark.django_db
def test_refresh_with_access_token_is_401(tokens):
    assert_json_401(refresh(tokens["access"]), "token_not_valid")
    assert not BlacklistedToken.objects.exists()


@pytest.mark.django_db
def test_expired_refresh_token_is_401(user, tokens):
    token = RefreshToken(tokens["refresh"])
    token.set_exp(lifetime=-timedelta(seconds=1))

    assert_json_401(refresh(str(token)), "token_not_valid")
    assert not is_blacklisted(tokens["refresh"])
    assert events(AuthEvent.Kind.TOKEN_REFRESHED, user) == 0


@pytest.mark.django_db
def test_refresh_with_garbage_is_401():
    assert_json_401(refresh("not.a.token"), "token_not_valid")


# --- lifetimes -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_lifetimes(tokens):
    access, refresh_claims = jwt_payload(tokens["access"]), jwt_payload(tokens["refresh"])

    assert access["exp"] - access["iat"] == 3600
    assert refresh_claims["exp"] - refresh_claims["iat"] == 7 * 24 * 3600
    assert (access["token_type"], refresh_claims["token_type"]) == ("access", "refresh")


# --- concurrency -----------------------------------------------------------------------------


def _race_refresh(raw: str) -> list:
    """Refresh one token from two threads released at the same instant; return the responses."""
    barrier = threading.Barrier(2)
    results = [None, None]

    def run(slot):
        client = APIClient()
        try:
            barrier.wait(timeout=10)
            results[slot] = refresh(raw, client)
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertions
            results[slot] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    reason="SQLite's shared-cache test database raises 'database table is locked' on the "
    "second writer instead of waiting: the race is only meaningful on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_exactly_one_wins(login):
    for attempt in range(5):
        user = UserFactory(username=f"racer{attempt}")
        raw = login(user.username)["refresh"]

        results = _race_refresh(raw)

        assert all(not isinstance(r, Exception) for r in results), results
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 401], [r.content for r in results]
        loser = next(r for r in results if r.status_code == 401)
        assert loser.json()["code"] == "token_reused"
        assert events(AuthEvent.Kind.TOKEN_REFRESHED, user) == 1
        assert events(AuthEvent.Kind.REFRESH_REUSED, user) == 1


# --- password change -------------------------------------------------------------------------


def change_password(access: str, current: str, new: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.post(
        PASSWORD_CHANGE, {"current_password": current, "new_password": new}, format="json"
    )


@pytest.mark.django_db
def test_password_change_returns_a_working_pair(user, tokens):
    response = change_password(tokens["access"], PASSWORD, NEW_PASSWORD)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert get_protected(body["access"]).status_code == 200
    assert refresh(body["refresh"]).status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert events(AuthEvent.Kind.PASSWORD_CHANGED, user) == 1


@pytest.mark.django_db
def test_password_change_ends_the_old_tokens(tokens):
    change_password(tokens["access"], PASSWORD, NEW_PASSWORD)

    assert_json_401(get_protected(tokens["access"]), "token_revoked")
    assert_json_401(refresh(tokens["refresh"]))


@pytest.mark.django_db
def test_stale_refresh_after_password_change_keeps_the_new_session(tokens):
    """Another device still holding the pre-change refresh token tries it, as it normally would."""
    new = change_password(tokens["access"], PASSWORD, NEW_PASSWORD).json()

    assert_json_401(refresh(tokens["refresh"]))

    assert get_protected(new["access"]).status_code == 200
    assert refresh(new["refresh"]).status_code == 200


@pytest.mark.django_db
def test_password_change_with_wrong_current_password_is_400(user, tokens):
    response = change_password(tokens["access"], "Wrong#Pass2026", NEW_PASSWORD)

    assert response.status_code == 400
    assert "current_password" in response.json()["errors"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert get_protected(tokens["access"]).status_code == 200
    assert events(AuthEvent.Kind.PASSWORD_CHANGED, user) == 0


@pytest.mark.django_db
def test_password_change_missing_fields_is_400(tokens):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = client.post(PASSWORD_CHANGE, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"current_password", "new_password"}


@pytest.mark.django_db
def test_password_change_unauthenticated_is_401(user):
    response = APIClient().post(
        PASSWORD_CHANGE,
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert_json_401(response, "not_authenticated")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- deactivation and revocation -------------------------------------------------------------


@pytest.mark.django_db
def test_deactivated_user_tokens_are_rejected_at_once(user, tokens):
    user.is_active = False
    user.save()

    assert_json_401(get_protected(tokens["access"]), "user_inactive")
    assert_json_401(refresh(tokens["refresh"]), "token_not_valid")
    assert events(AuthEvent.Kind.TOKEN_REFRESHED, user) == 0


@pytest.mark.django_db
def test_revoke_sessions_ends_access_and_refresh(user, tokens):
    user_revoke_sessions(request=RequestFactory().post("/"), user=user)

    assert_json_401(get_protected(tokens["access"]), "token_revoked")
    assert_json_401(refresh(tokens["refresh"]))
    assert events(AuthEvent.Kind.TOKENS_REVOKED, user) == 1


@pytest.mark.django_db
def test_password_change_attempts_are_throttled_per_user(customer, auth_client):
    client = auth_client(customer)
    for _ in range(5):
        response = client.post(
            "/api/password/change/",
            {"current_password": "Wrong#Guess2026", "new_password": "Brake#Pad9x2026"},
        )
        assert response.status_code == 400
    response = client.post(
        "/api/password/change/",
        {"current_password": PASSWORD, "new_password": "Brake#Pad9x2026"},
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


@pytest.mark.django_db
def test_replaying_a_logged_out_refresh_token_does_not_end_other_sessions(customer, login):
    phone = login(customer.username)
    laptop = login(customer.username)
    assert APIClient().post("/api/logout/", {"refresh": phone["refresh"]}).status_code == 204

    response = APIClient().post("/api/token/refresh/", {"refresh": phone["refresh"]})

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert (
        APIClient().post("/api/token/refresh/", {"refresh": laptop["refresh"]}).status_code == 200
    )
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.REFRESH_REUSED).exists()
