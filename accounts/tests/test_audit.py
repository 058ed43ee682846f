"""django-auditlog via the API: the actor is the JWT user, the address the resolved client IP."""

import json
from datetime import timedelta

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from accounts.models import Profile, User
from accounts.services import user_create
from privacy.audit import REDACTED

TOUCH = "/api/test/user-touch/"
SECRET_FIELDS = ("password", "token_generation", "last_login")

pytestmark = [pytest.mark.django_db, pytest.mark.urls("accounts.tests.audit_urls")]


def user_updates(user):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User),
        object_pk=str(user.pk),
        action=LogEntry.Action.UPDATE,
    )


def test_change_through_the_api_records_the_jwt_user_as_actor(auth_client, technician):
    client = auth_client(technician)

    response = client.post(TOUCH, REMOTE_ADDR="203.0.113.20")

    assert response.status_code == 200, response.content
    entry = user_updates(technician).get()
    assert entry.actor == technician
    assert entry.remote_addr == "203.0.113.20"
    assert set(entry.changes_dict) == {"date_joined"}


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_not_the_recorded_address(
    auth_client, customer, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    client = auth_client(customer)

    response = client.post(
        TOUCH, REMOTE_ADDR="203.0.113.20", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1"
    )

    assert response.status_code == 200, response.content
    entry = user_updates(customer).get()
    assert entry.actor == customer
    assert entry.remote_addr == "203.0.113.20"


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_recorded(
    auth_client, customer, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    client = auth_client(customer)

    response = client.post(
        TOUCH, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.23, 10.0.0.9"
    )

    assert response.status_code == 200, response.content
    entry = user_updates(customer).get()
    assert entry.actor == customer
    assert entry.remote_addr == "198.51.100.23"


def test_an_anonymous_request_changes_nothing(api_client, customer):
    response = api_client.post(TOUCH)

    assert response.status_code == 401
    assert not user_updates(customer).exists()


def test_the_actor_does_not_leak_into_changes_made_after_the_request(auth_client, customer):
    auth_client(customer).post(TOUCH)

    later = user_create(username="later", password="Garage#Pass2026")

    created = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(User),
        object_pk=str(later.pk),
        action=LogEntry.Action.CREATE,
    )
    assert created.actor is None
    assert created.remote_addr is None


def test_password_and_token_generation_never_reach_the_audit_log(auth_client, make_user, password):
    user = make_user("auditee")
    client = auth_client(user)
    client.post(TOUCH)
    response = client.post(
        "/api/password/change/",
        {"current_password": password, "new_password": "Another#Garage2027"},
    )
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.token_generation > 0

    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User))
    assert entries.filter(action=LogEntry.Action.CREATE).exists()
    assert entries.filter(action=LogEntry.Action.UPDATE).exists()
    for entry in entries:
        assert not set(entry.changes_dict) & set(SECRET_FIELDS), entry.changes_dict
        dumped = json.dumps(entry.changes)
        assert user.password not in dumped
        assert "argon2" not in dumped


def test_profile_change_is_attributed_and_its_values_redacted(auth_client, customer):
    client = auth_client(customer)

    response = client.patch(
        "/api/me/",
        {"full_name": "Sami Ben Salah", "address": "12 rue de Carthage, Tunis"},
        REMOTE_ADDR="203.0.113.30",
    )

    assert response.status_code == 200, response.content
    entry = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Profile),
        action=LogEntry.Action.UPDATE,
    ).get()
    assert entry.actor == customer
    assert entry.remote_addr == "203.0.113.30"
    assert {"full_name", "address"} <= set(entry.changes_dict)
    dumped = json.dumps(entry.changes)
    assert "Sami" not in dumped
    assert "Carthage" not in dumped
    assert entry.changes_dict["full_name"][1] == REDACTED


def test_a_change_after_the_request_has_ended_records_no_actor(auth_client, technician):
    assert auth_client(technician).post(TOUCH, REMOTE_ADDR="203.0.113.20").status_code == 200

    technician.date_joined -= timedelta(days=10)  # the request moved it by one day
    technician.save(update_fields=["date_joined"])

    later = user_updates(technician).order_by("-id").first()
    assert later.actor is None and later.remote_addr is None
    assert user_updates(technician).count() == 2


def test_an_explicit_set_actor_outside_a_request_is_honoured(super_admin, technician):
    with set_actor(super_admin, remote_addr="198.51.100.7"):
        technician.date_joined -= timedelta(days=1)
        technician.save(update_fields=["date_joined"])

    entry = user_updates(technician).get()
    assert entry.actor == super_admin
    assert entry.remote_addr == "198.51.100.7"

