"""The password policy on every way a password is set: API, user_create, createsuperuser, admin."""

from io import StringIO
from itertools import pairwise

import pytest
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from accounts.admin import UserCreationForm
from accounts.models import AuthEvent, PasswordHistory, Role, User
from accounts.services import user_create
from accounts.tests.factories import PASSWORD, UserFactory
from config.exceptions import ApplicationError
from config.settings import base as base_settings

pytestmark = pytest.mark.django_db

PASSWORD_CHANGE = "/api/password/change/"
USERNAME = "garagiste"

SHORT = "This password is too short. It must contain at least 8 characters."
COMMON = "This password is too common."
NUMERIC = "This password is entirely numeric."
SIMILAR = "The password is too similar to the username."
NO_UPPER = "The password must contain an upper-case letter."
NO_LOWER = "The password must contain a lower-case letter."
NO_DIGIT = "The password must contain a digit."
NO_SPECIAL = "The password must contain a special character."
REUSED = "The password must differ from your last 5 passwords."

# Each weak password breaks one rule and keeps the others, so the rule is seen on its own.
# Django's common list holds lower-case entries and compares case-insensitively: "p@ssw0rd" is in
# it, so "P@ssw0rd" is common although it has all four character classes.
RULES = [
    pytest.param("Ab1!xyz", {SHORT}, {"password_too_short"}, id="too_short_7_chars"),
    pytest.param("tunis#roads2026", {NO_UPPER}, {"password_no_upper"}, id="no_upper"),
    pytest.param("TUNIS#ROADS2026", {NO_LOWER}, {"password_no_lower"}, id="no_lower"),
    pytest.param("Tunis#Roads", {NO_DIGIT}, {"password_no_digit"}, id="no_digit"),
    pytest.param("TunisRoads2026", {NO_SPECIAL}, {"password_no_special"}, id="no_special"),
    pytest.param("P@ssw0rd", {COMMON}, {"password_too_common"}, id="common"),
    pytest.param(
        "20262026202620",
        {NUMERIC, NO_UPPER, NO_LOWER, NO_SPECIAL},
        {
            "password_entirely_numeric",
            "password_no_upper",
            "password_no_lower",
            "password_no_special",
        },
        id="numeric_only",
    ),
    pytest.param("Garagiste#2026", {SIMILAR}, {"password_too_similar"}, id="similar_to_username"),
]


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def change_password(access: str, current: str, new: str):
    return bearer(access).post(
        PASSWORD_CHANGE, {"current_password": current, "new_password": new}, format="json"
    )


# --- every rule, on every way in -------------------------------------------------------------


@pytest.mark.parametrize("weak, messages, codes", RULES)
def test_policy_codes(weak, messages, codes):
    with pytest.raises(ValidationError) as caught:
        password_validation.validate_password(weak, User(username=USERNAME))

    assert {error.code for error in caught.value.error_list} == codes


@pytest.mark.parametrize("weak, messages, codes", RULES)
def test_api_password_change_refuses(login, weak, messages, codes):
    user = UserFactory(username=USERNAME)
    access = login(user.username)["access"]

    response = change_password(access, PASSWORD, weak)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "password_policy"
    assert set(body["errors"]["new_password"]) == messages
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert user.password_history.count() == 1
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.PASSWORD_CHANGED).exists()
    assert bearer(access).get("/api/protected/").status_code == 200


@pytest.mark.parametrize("weak, messages, codes", RULES)
def test_user_create_refuses(weak, messages, codes):
    with pytest.raises(ApplicationError) as caught:
        user_create(username=USERNAME, password=weak, role=Role.TECHNICIAN)

    assert caught.value.code == "password_policy"
    assert set(caught.value.extra["password"]) == messages
    assert not User.objects.exists()


@pytest.mark.parametrize("weak, messages, codes", RULES)
def test_createsuperuser_non_interactive_refuses(monkeypatch, weak, messages, codes):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", weak)

    with pytest.raises(CommandError) as caught:
        call_command("createsuperuser", interactive=False, username=USERNAME, stdout=StringIO())

    for message in messages:
        assert message in str(caught.value)
    assert not User.objects.exists()


def test_user_create_accepts_a_strong_password():
    user = user_create(username=USERNAME, password=PASSWORD)

    assert user.check_password(PASSWORD)
    assert user.password_history.count() == 1


# --- history ---------------------------------------------------------------------------------


def test_history_refuses_the_last_five_and_accepts_the_sixth_oldest(login, settings):
    settings.PASSWORD_CHECK_RATE = "100/m"  # many changes in a row; throttling is tested elsewhere
    user = UserFactory(username=USERNAME)
    access = login(user.username)["access"]
    passwords = [PASSWORD] + [f"Brake#Pad{n}x2026" for n in range(1, 6)]
    for current, new in pairwise(passwords):
        response = change_password(access, current, new)
        assert response.status_code == 200, response.content
        access = response.json()["access"]
        assert user.password_history.count() <= 5
    current = passwords[-1]

    for recent in passwords[1:]:
        response = change_password(access, current, recent)
        assert response.status_code == 400, recent
        assert response.json()["errors"]["new_password"] == [REUSED]
    response = change_password(access, current, passwords[0])

    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.check_password(passwords[0])
    assert PasswordHistory.objects.filter(user=user).count() == 5


def test_history_code_is_password_reused(login):
    user = UserFactory(username=USERNAME)
    access = login(user.username)["access"]
    change_password(access, PASSWORD, "Brake#Pad1x2026")
    user.refresh_from_db()

    for reused in (PASSWORD, "Brake#Pad1x2026"):
        with pytest.raises(ValidationError) as caught:
            password_validation.validate_password(reused, user)
        assert [error.code for error in caught.value.error_list] == ["password_reused"]


def test_history_keeps_at_most_five_rows_per_user(login, settings):
    settings.PASSWORD_CHECK_RATE = "100/m"
    user = UserFactory(username=USERNAME)
    other = UserFactory()
    access = login(user.username)["access"]
    current = PASSWORD
    for n in range(1, 8):
        new = f"Brake#Pad{n}x2026"
        access = change_password(access, current, new).json()["access"]
        current = new

    assert PasswordHistory.objects.filter(user=user).count() == 5
    assert PasswordHistory.objects.filter(user=other).count() == 1


# --- hashing ---------------------------------------------------------------------------------


def test_argon2_is_the_default_hasher():
    assert base_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_created_user_password_is_argon2id():
    user = UserFactory()

    assert user.password.startswith("argon2$argon2id$")
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


# --- admin -----------------------------------------------------------------------------------


def admin_add_form(password: str) -> UserCreationForm:
    return UserCreationForm(
        data={
            "username": USERNAME,
            "role": Role.TECHNICIAN,
            "usable_password": "true",
            "password1": password,
            "password2": password,
        }
    )


def test_admin_add_user_form_rejects_a_weak_password():
    form = admin_add_form("tunis#roads2026")

    assert not form.is_valid()
    assert NO_UPPER in form.errors["password2"]


def test_admin_add_user_form_accepts_a_strong_password():
    form = admin_add_form(PASSWORD)

    assert form.is_valid(), form.errors
