"""Management commands: seed_demo and the policy-checking createsuperuser."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.management.commands.seed_demo import DEFAULT_PASSWORD
from accounts.models import Profile, Role, User

pytestmark = pytest.mark.django_db

EXPECTED_COUNTS = {Role.SUPER_ADMIN: 1, Role.TECHNICIAN: 3, Role.CUSTOMER: 20}


def seed(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def role_counts():
    return {role: User.objects.filter(role=role).count() for role in Role.values}


def test_seed_demo_creates_the_demo_users():
    output = seed()

    assert role_counts() == EXPECTED_COUNTS
    assert "24 demo users created" in output
    admin = User.objects.get(role=Role.SUPER_ADMIN)
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.exclude(role=Role.SUPER_ADMIN).filter(is_staff=True).exists()
    assert Profile.objects.count() == 24


def test_seed_demo_json_lists_the_usernames_by_role():
    data = json.loads(seed("--json"))

    assert set(data) == {"super_admin", "technician", "customer"}
    assert {role: len(names) for role, names in data.items()} == {
        "super_admin": 1,
        "technician": 3,
        "customer": 20,
    }
    for role, names in data.items():
        assert set(User.objects.filter(role=role).values_list("username", flat=True)) == set(names)


def test_seed_demo_twice_creates_nothing_more():
    seed()
    ids = set(User.objects.values_list("id", flat=True))

    output = seed()

    assert "0 demo users created" in output
    assert set(User.objects.values_list("id", flat=True)) == ids
    assert role_counts() == EXPECTED_COUNTS


def test_seed_demo_leaves_an_existing_user_untouched(make_user, password):
    existing = make_user("tech1", Role.TECHNICIAN)

    seed("--password", "Other-Demo#2027")

    existing.refresh_from_db()
    assert existing.check_password(password)
    assert role_counts() == EXPECTED_COUNTS


@pytest.mark.parametrize("weak", ["short", "password123", "aaaaaaaaaaaa", "12345678901"])
def test_seed_demo_refuses_a_weak_password(weak):
    with pytest.raises(CommandError):
        seed("--password", weak)

    assert not User.objects.exists()


def test_seed_demo_refuses_to_run_in_production(settings):
    settings.ENVIRONMENT = "production"

    with pytest.raises(CommandError, match="production"):
        seed()

    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("username", "role"),
    [("admin", "super_admin"), ("tech2", "technician"), ("customer20", "customer")],
)
def test_demo_users_can_log_in_through_the_api(login, username, role):
    seed()

    body = login(username, DEFAULT_PASSWORD)

    assert body["user"]["role"] == role
    assert body["access"]
    assert body["refresh"]


def test_seed_demo_with_a_custom_password(login):
    seed("--password", "Atelier-Sfax#2031")

    assert login("customer01", "Atelier-Sfax#2031")["user"]["username"] == "customer01"


def test_createsuperuser_refuses_a_weak_password_non_interactively(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "password")

    with pytest.raises(CommandError):
        call_command("createsuperuser", "--noinput", "--username", "root", stdout=StringIO())

    assert not User.objects.exists()


def test_seed_after_an_erasure_does_not_bring_the_erased_customer_back(api_client):
    seed()
    response = api_client.post(
        "/api/login/", {"username": "customer06", "password": DEFAULT_PASSWORD}, format="json"
    )
    token = response.json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.post("/api/delete_user_data/").status_code == 200

    output = seed()

    assert "Not recreated (erased at the person's request): customer06" in output
    assert not User.objects.filter(username="customer06").exists()
    assert User.objects.filter(role=Role.CUSTOMER, is_active=True).count() == 19

    assert "1 demo users created" in seed("--recreate-erased")
    assert User.objects.filter(username="customer06").exists()
