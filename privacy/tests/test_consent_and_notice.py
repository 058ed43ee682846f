"""The privacy notice (public) and the caller's consents: given, withdrawn, with version and IP."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from privacy.models import Consent, PrivacyNotice
from privacy.tests.people import api_login, bearer_client, logged_in_client

pytestmark = pytest.mark.django_db

NOTICE = "/api/privacy-notice/"
CONSENTS = "/api/me/consents/"


@pytest.fixture
def client(customer):
    return logged_in_client(customer)


# --- The privacy notice ------------------------------------------------------------------------


def test_the_privacy_notice_is_public_with_version_and_text(api_client):
    response = api_client.get(NOTICE)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"version", "text", "published_at"}
    assert body["version"] == "1"
    assert "ECAR" in body["text"] and len(body["text"]) > 200


def test_the_privacy_notice_ignores_a_broken_token():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert client.get(NOTICE).status_code == 200


def test_the_latest_published_notice_is_served(api_client):
    PrivacyNotice.objects.create(
        version="2", text="Version 2 of the notice.", published_at=timezone.now()
    )
    PrivacyNotice.objects.create(
        version="0-draft", text="Older.", published_at=timezone.now() - timedelta(days=900)
    )

    body = api_client.get(NOTICE).json()

    assert (body["version"], body["text"]) == ("2", "Version 2 of the notice.")


def test_no_published_notice_is_a_404(api_client):
    PrivacyNotice.objects.all().delete()

    response = api_client.get(NOTICE)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- Consents ----------------------------------------------------------------------------------


def test_accepting_the_notice_records_its_version_the_client_ip_and_the_time(customer, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # Behind the trusted proxy: the right-most untrusted hop is the client, the rest is forged.
    client = bearer_client(api_login(customer.username)["access"], ip="10.0.0.5")
    client.defaults["HTTP_X_FORWARDED_FOR"] = "6.6.6.6, 203.0.113.9, 10.0.0.7"
    before = timezone.now()

    response = client.post(CONSENTS, {"purpose": "privacy_notice", "granted": True}, format="json")

    assert response.status_code == 201, response.content
    current = response.json()["current"]["privacy_notice"]
    assert current["granted"] is True
    assert current["notice_version"] == "1"
    consent = Consent.objects.get(user=customer)
    assert consent.purpose == "privacy_notice"
    assert consent.notice_version == "1"
    assert consent.ip == "203.0.113.9"
    assert before <= consent.created_at <= timezone.now()


def test_consent_records_the_version_in_force_not_one_sent_by_the_client(customer, client):
    PrivacyNotice.objects.create(version="2", text="Second version.", published_at=timezone.now())

    refused = client.post(
        CONSENTS,
        {"purpose": "privacy_notice", "granted": True, "notice_version": "1", "ip": "1.2.3.4"},
        format="json",
    )
    response = client.post(CONSENTS, {"purpose": "privacy_notice", "granted": True}, format="json")

    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"notice_version", "ip"}
    assert response.status_code == 201, response.content
    consent = Consent.objects.get(user=customer)
    assert consent.notice_version == "2"
    assert consent.ip == "127.0.0.1"


def test_consent_for_another_user_is_refused(customer, client, make_user):
    other = make_user("other")

    response = client.post(
        CONSENTS, {"purpose": "marketing", "granted": True, "user": other.pk}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["user"]
    assert not Consent.objects.exists()


def test_marketing_opt_in_then_withdrawal_keeps_both_and_the_latest_is_in_force(customer, client):
    assert client.post(CONSENTS, {"purpose": "marketing", "granted": True}).status_code == 201

    response = client.post(CONSENTS, {"purpose": "marketing", "granted": False})

    assert response.status_code == 201
    state = client.get(CONSENTS).json()
    assert state == response.json()
    assert state["current"]["marketing"]["granted"] is False
    assert state["current"]["privacy_notice"] is None  # never asked
    assert [(c["purpose"], c["granted"]) for c in state["history"]] == [
        ("marketing", False),
        ("marketing", True),
    ]
    assert Consent.objects.filter(user=customer).count() == 2


def test_withdrawing_the_notice_acceptance_is_recorded(customer, client):
    client.post(CONSENTS, {"purpose": "privacy_notice", "granted": True})
    client.post(CONSENTS, {"purpose": "privacy_notice", "granted": False})

    current = client.get(CONSENTS).json()["current"]["privacy_notice"]

    assert current["granted"] is False
    assert current["notice_version"] == "1"


def test_consents_are_each_persons_own(customer, client, make_user):
    other = make_user("someone-else", Role.CUSTOMER)
    other_client = logged_in_client(other)
    other_client.post(CONSENTS, {"purpose": "marketing", "granted": True})

    state = client.get(CONSENTS).json()

    assert state["history"] == []
    assert state["current"] == {"privacy_notice": None, "marketing": None}
    assert other_client.get(CONSENTS).json()["current"]["marketing"]["granted"] is True


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"purpose": "newsletter-spam", "granted": True}, "purpose"),
        ({"granted": True}, "purpose"),
        ({"purpose": "marketing"}, "granted"),
        ({"purpose": "marketing", "granted": "perhaps"}, "granted"),
    ],
)
def test_invalid_consent_input_is_a_400_with_field_errors(customer, client, payload, field):
    response = client.post(CONSENTS, payload, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Consent.objects.exists()


def test_accepting_the_notice_when_none_is_published_is_refused(customer, client):
    PrivacyNotice.objects.all().delete()

    response = client.post(CONSENTS, {"purpose": "privacy_notice", "granted": True})

    assert response.status_code == 400
    assert response.json()["code"] == "no_notice"
    assert not Consent.objects.exists()


def test_consents_need_authentication():
    assert APIClient().get(CONSENTS).status_code == 401
    response = APIClient().post(CONSENTS, {"purpose": "marketing", "granted": True})
    assert response.status_code == 401
    assert not Consent.objects.exists()


def test_every_role_manages_its_own_consents(technician, super_admin):
    for user in (technician, super_admin):
        response = logged_in_client(user).post(CONSENTS, {"purpose": "marketing", "granted": True})
        assert response.status_code == 201, response.content
    assert Consent.objects.count() == 2
