"""GET/PATCH /api/me/: one's own contact details, re-authentication for e-mail and phone changes,
normalised storage and an audit trail that names fields but never holds their values."""

import json
import re

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from accounts.models import Profile, Role, User
from accounts.services import user_create
from privacy.audit import REDACTED

ME = "/api/me/"
PASSWORD = "Garage#Pass2026"
CONTACT = {
    "full_name": "Hedi Bouazizi",
    "email": "hedi.bouazizi@example.tn",
    "phone": "+21620123456",
    "address": "3 avenue Habib Bourguiba, Sousse",
}
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")

pytestmark = pytest.mark.django_db


def make(username: str, role: str = Role.CUSTOMER, contact: dict | None = None) -> User:
    return user_create(
        username=username, password=PASSWORD, role=role, contact=dict(contact or CONTACT)
    )


def stored(user: User) -> dict:
    profile = Profile.objects.get(user=user)
    return {name: getattr(profile, name) for name in CONTACT}


def profile_updates(user: User):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Profile),
        object_pk=str(Profile.objects.get(user=user).pk),
        action=LogEntry.Action.UPDATE,
    )


# --- authentication and reading ------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "patch"])
def test_anonymous_caller_is_refused(api_client, method):
    make("hedi")

    response = getattr(api_client, method)(ME, {"full_name": "X"}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_invalid_token_is_refused(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert api_client.get(ME).status_code == 401


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.TECHNICIAN, Role.SUPER_ADMIN])
def test_each_role_reads_its_own_details(auth_client, role):
    user = make("hedi", role)
    make("other", contact={"full_name": "Someone Else", "email": "else@example.tn"})

    response = auth_client(user).get(ME)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": user.pk,
        "username": "hedi",
        "role": role,
        **CONTACT,
        "language": "fr",
    }


def test_user_without_contact_details_reads_empty_values(auth_client):
    user = User.objects.create_user(username="bare", password=PASSWORD)  # no profile row

    response = auth_client(user).get(ME)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": user.pk,
        "username": "bare",
        "role": Role.CUSTOMER,
        "full_name": "",
        "email": None,
        "phone": None,
        "address": "",
        "language": "fr",
    }


def test_response_never_includes_ciphertext_or_indexes(auth_client):
    user = make("hedi")

    body = auth_client(user).get(ME).content.decode()

    assert "e1:" not in body
    assert not HEX64.search(body)
    assert "index" not in body and "password" not in body


# --- updating non-sensitive fields ---------------------------------------------------------


def test_language_of_messages_changes_without_password(auth_client):
    user = make("hedi")

    response = auth_client(user).patch(ME, {"language": "ar"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["language"] == "ar"
    assert Profile.objects.get(user=user).language == "ar"
    bad = auth_client(user).patch(ME, {"language": "de"}, format="json")
    assert bad.status_code == 400 and "language" in bad.json()["errors"]


def test_full_name_and_address_change_without_password(auth_client):
    user = make("hedi")

    response = auth_client(user).patch(
        ME, {"full_name": "Hedi B.", "address": "9 rue de Rome, Tunis"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["full_name"] == "Hedi B."
    assert stored(user) == {**CONTACT, "full_name": "Hedi B.", "address": "9 rue de Rome, Tunis"}


def test_first_patch_creates_the_profile(auth_client):
    user = User.objects.create_user(username="bare", password=PASSWORD)

    response = auth_client(user).patch(ME, {"full_name": "Bare Name"}, format="json")

    assert response.status_code == 200, response.content
    assert stored(user)["full_name"] == "Bare Name"


# --- e-mail and phone need the current password --------------------------------------------


@pytest.mark.parametrize(
    "change", [{"email": "new@example.tn"}, {"phone": "+21698765432"}, {"email": None}]
)
def test_reachability_change_without_password_is_refused(auth_client, change):
    user = make("hedi")

    response = auth_client(user).patch(ME, change, format="json")

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "password_required"
    assert "current_password" in response.json()["errors"]
    assert stored(user) == CONTACT


@pytest.mark.parametrize("change", [{"email": "new@example.tn"}, {"phone": "+21698765432"}])
def test_reachability_change_with_a_wrong_password_is_refused(auth_client, change):
    user = make("hedi")

    response = auth_client(user).patch(
        ME, {**change, "current_password": "Wrong#Pass2026"}, format="json"
    )

    assert response.status_code == 403, response.content
    assert response.json()["code"] == "password_required"
    assert stored(user) == CONTACT


def test_password_check_covers_the_whole_request(auth_client):
    user = make("hedi")

    response = auth_client(user).patch(
        ME, {"full_name": "Sneaky", "email": "new@example.tn"}, format="json"
    )

    assert response.status_code == 403
    assert stored(user) == CONTACT


def test_reachability_change_with_the_password_is_stored_normalised(auth_client):
    user = make("hedi")

    response = auth_client(user).patch(
        ME,
        {"email": "  Hedi.New@Example.TN ", "phone": "98 765 432", "current_password": PASSWORD},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "+21698765432"
    assert stored(user)["phone"] == "+21698765432"
    assert stored(user)["email"] == "Hedi.New@Example.TN"
    profile = Profile.objects.get(user=user)
    assert list(Profile.objects.blind_lookup(email="hedi.new@example.tn")) == [profile]
    assert list(Profile.objects.blind_lookup(phone="+216 98 765 432")) == [profile]
    assert not Profile.objects.blind_lookup(email=CONTACT["email"]).exists()


@pytest.mark.parametrize("same_phone", ["20 123 456", "+216 20-123-456", "0021620123456"])
def test_same_phone_in_another_format_is_not_a_change(auth_client, same_phone):
    user = make("hedi")

    response = auth_client(user).patch(ME, {"phone": same_phone}, format="json")

    assert response.status_code == 200, response.content
    assert stored(user)["phone"] == "+21620123456"


def test_same_email_unchanged_needs_no_password(auth_client):
    user = make("hedi")

    response = auth_client(user).patch(
        ME, {"email": CONTACT["email"], "full_name": "Hedi B."}, format="json"
    )

    assert response.status_code == 200, response.content


# --- refused input -------------------------------------------------------------------------


def test_identity_fields_are_refused_and_nothing_changes(auth_client):
    user = make("hedi")

    response = auth_client(user).patch(
        ME,
        {"full_name": "Changed", "role": Role.SUPER_ADMIN, "username": "root", "is_staff": True},
        format="json",
    )

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"role", "username", "is_staff"}
    user.refresh_from_db()
    assert (user.username, user.role, user.is_staff) == ("hedi", Role.CUSTOMER, False)
    assert stored(user) == CONTACT


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "123"}, "phone"),
        ({"phone": "+21601234567"}, "phone"),
        ({"full_name": "N" * 151}, "full_name"),
        ({"address": "A" * 501}, "address"),
    ],
)
def test_invalid_values_are_refused_with_field_errors(auth_client, change, field):
    user = make("hedi")

    response = auth_client(user).patch(ME, {**change, "current_password": PASSWORD}, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert stored(user) == CONTACT


def test_email_of_another_account_in_another_case_is_refused(auth_client):
    make("first", contact={"email": "taken@example.tn"})
    user = make("hedi")

    response = auth_client(user).patch(
        ME, {"email": "TAKEN@Example.tn", "current_password": PASSWORD}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "email" in response.json()["errors"]
    assert stored(user) == CONTACT


# --- audit trail ---------------------------------------------------------------------------


def test_change_is_audited_with_field_names_and_no_values(auth_client):
    user = make("hedi")
    profile = Profile.objects.get(user=user)
    old_indexes = [profile.email_index, profile.phone_index]

    response = auth_client(user).patch(
        ME,
        {
            "full_name": "Hedi Audited",
            "email": "hedi.audited@example.tn",
            "phone": "98 765 432",
            "current_password": PASSWORD,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    entry = profile_updates(user).get()
    assert entry.actor == user
    changes = entry.changes_dict
    assert {"full_name", "email", "phone"} <= set(changes)
    assert set(changes) <= {"full_name", "email", "phone", "email_index", "phone_index"}
    for name, values in changes.items():
        assert values == [REDACTED, REDACTED], name
    profile.refresh_from_db()
    dump = json.dumps([entry.changes, entry.changes_text, entry.object_repr, entry.additional_data])
    secrets = [
        *CONTACT.values(),
        "Hedi Audited",
        "hedi.audited@example.tn",
        "+21698765432",
        *old_indexes,
        profile.email_index,
        profile.phone_index,
    ]
    for secret in secrets:
        assert secret not in dump
    assert "e1:" not in dump
    assert not HEX64.search(dump)
