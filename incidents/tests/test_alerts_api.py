"""GET /api/alerts/ and its actions; new high alerts e-mailed and sent to Sentry, once."""

import json
import socket

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from incidents.models import Incident, SecurityAlert

pytestmark = pytest.mark.django_db
URL = "/api/alerts/"


def _reuse(user):
    """Make a refresh token reuse for `user` through the API (a high alert)."""
    client = APIClient()
    refresh = client.post("/api/login/", {"username": user.username, "password": "Garage#Pass2026"})
    first = refresh.json()["refresh"]
    client.post("/api/token/refresh/", {"refresh": first})
    client.post("/api/token/refresh/", {"refresh": first})


@pytest.fixture
def high_alert(make_customer, run_detectors, django_capture_on_commit_callbacks):
    victim = make_customer("stolen")
    _reuse(victim)
    with django_capture_on_commit_callbacks(execute=True):
        run_detectors()
    return SecurityAlert.objects.get(detector="refresh_reuse")


def test_only_super_admins_see_alerts(high_alert, auth_client, make_user, admin_user):
    assert APIClient().get(URL).status_code == 401
    assert auth_client(make_user("t", Role.TECHNICIAN)).get(URL).status_code == 403
    assert auth_client(make_user("c", Role.CUSTOMER)).get(URL).status_code == 403

    body = auth_client(admin_user).get(URL).json()

    assert body["count"] == 1
    [alert] = body["results"]
    assert alert["detector"] == "refresh_reuse" and alert["status"] == "new"
    assert alert["evidence"]["user_id"] == high_alert.evidence["user_id"]


def test_filters(high_alert, auth_client, admin_user):
    client = auth_client(admin_user)
    assert client.get(URL, {"severity": "high"}).json()["count"] == 1
    assert client.get(URL, {"status": "closed"}).json()["count"] == 0
    bad = client.get(URL, {"severity": "urgent"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_new_acknowledged_closed(high_alert, auth_client, admin_user):
    client = auth_client(admin_user)
    ack = client.post(f"{URL}{high_alert.pk}/acknowledge/")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert ack.json()["acknowledged_by"] == admin_user.pk
    again = client.post(f"{URL}{high_alert.pk}/acknowledge/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_status"

    closed = client.post(f"{URL}{high_alert.pk}/close/")

    assert closed.json()["status"] == "closed"
    assert client.post(f"{URL}{high_alert.pk}/close/").status_code == 409
    assert client.get(f"{URL}999999/").status_code == 404


def test_open_incident_from_an_alert(high_alert, auth_client, admin_user):
    client = auth_client(admin_user)

    response = client.post(f"{URL}{high_alert.pk}/open-incident/")

    assert response.status_code == 201, response.content
    incident = Incident.objects.get(reference=response.json()["reference"])
    assert incident.scope_user_ids == [high_alert.evidence["user_id"]]
    assert incident.occurred_from < high_alert.first_seen
    high_alert.refresh_from_db()
    assert high_alert.incident == incident and high_alert.status == "acknowledged"
    assert client.get(f"{URL}{high_alert.pk}/").json()["incident"] == incident.reference
    twice = client.post(f"{URL}{high_alert.pk}/open-incident/")
    assert twice.status_code == 400 and twice.json()["code"] == "alert_has_incident"


def test_a_new_high_alert_is_mailed_to_super_admins_once(
    admin_user,
    make_user,
    make_customer,
    mailoutbox,
    run_detectors,
    sentry_events,
    django_capture_on_commit_callbacks,
):
    second = make_user("boss2", Role.SUPER_ADMIN)
    second.profile.email = "boss2@garage-ecar.tn"
    second.profile.save()
    victim = make_customer("twice")
    _reuse(victim)
    with django_capture_on_commit_callbacks(execute=True):
        run_detectors()
    _reuse(victim)  # the same pattern again: the open alert is updated, nobody is mailed again
    with django_capture_on_commit_callbacks(execute=True):
        run_detectors()

    alert = SecurityAlert.objects.get(detector="refresh_reuse")
    assert alert.occurrences == 2 and alert.notified_at is not None
    assert sorted(m.to[0] for m in mailoutbox) == ["boss2@garage-ecar.tn", "chef@garage-ecar.tn"]
    assert all(len(m.to) == 1 for m in mailoutbox)
    assert f"alert {alert.pk}" in mailoutbox[0].subject
    assert victim.username not in mailoutbox[0].body
    # The evidence holds client addresses; the e-mail leaves the server: counts and ids only.
    assert alert.evidence["ip"] and alert.evidence["ip"] not in mailoutbox[0].body
    [event] = sentry_events
    assert event["tags"]["security_alert.detector"] == "refresh_reuse"
    context = event["contexts"]["security_alert"]
    assert set(context) == {"id", "user_id", "event_id"}  # ids only: no IP left the server
    assert context["id"] == alert.pk and context["user_id"] == victim.pk


def test_medium_alerts_are_not_mailed(
    make_customer,
    mailoutbox,
    run_detectors,
    sentry_events,
    django_capture_on_commit_callbacks,
    admin_user,
):
    victim = make_customer("medium")
    for _ in range(10):
        APIClient().post("/api/login/", {"username": victim.username, "password": "Nope#Pass1"})
    with django_capture_on_commit_callbacks(execute=True):
        run_detectors()

    assert SecurityAlert.objects.get(detector="brute_force").severity == "medium"
    assert mailoutbox == [] and sentry_events == []


def test_alerts_about_a_person_are_exported_and_lose_their_addresses_on_erasure(
    high_alert, auth_client, admin_user
):
    victim_id = high_alert.evidence["user_id"]
    client = auth_client(admin_user)
    export = client.get(f"/api/users/{victim_id}/export/")
    sections = json.loads(b"".join(export.streaming_content))["sections"]
    assert [row["security_alert"] for row in sections["security_alerts"]] == [high_alert.pk]

    assert client.post(f"/api/users/{victim_id}/erase/").status_code == 200

    high_alert.refresh_from_db()
    assert "ip" not in high_alert.evidence and high_alert.evidence["user_id"] == victim_id


def test_erasure_drops_the_network_of_an_admin_new_network_alert(
    make_user, run_detectors, auth_client, admin_user
):
    other_admin = make_user("deputy", Role.SUPER_ADMIN)
    for ip in ("192.0.2.10", "198.51.100.7"):  # documentation ranges (RFC 5737)
        login = APIClient(REMOTE_ADDR=ip).post(
            "/api/login/", {"username": other_admin.username, "password": "Garage#Pass2026"}
        )
        assert login.status_code == 200
    run_detectors()
    alert = SecurityAlert.objects.get(detector="admin_new_network")
    network = alert.evidence["network"]
    assert network == "198.51.100.0/24" and network in alert.dedupe_key

    client = auth_client(admin_user)
    assert client.post(f"/api/users/{other_admin.pk}/erase/").status_code == 200

    alert.refresh_from_db()
    assert alert.dedupe_key == f"admin_new_network:{other_admin.pk}"
    assert not {"ip", "ips", "network"} & alert.evidence.keys()
    for address in (network, "198.51.100", "192.0.2"):
        assert address not in alert.dedupe_key and address not in str(alert.evidence)
    # The security record stays: who it was about (by id) and the counts.
    assert alert.evidence["user_id"] == other_admin.pk
    assert alert.evidence["known_networks"] == 1


def test_an_unreachable_mail_server_is_logged_without_addresses(
    settings,
    make_customer,
    admin_user,
    run_detectors,
    caplog,
    sentry_events,
    django_capture_on_commit_callbacks,
):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    _reuse(make_customer("nomail"))

    with django_capture_on_commit_callbacks(execute=True):
        run_detectors()

    alert = SecurityAlert.objects.get(detector="refresh_reuse")
    assert alert.notified_at is not None and len(sentry_events) == 1
    assert f"Security alert {alert.pk}: e-mail not sent (ConnectionRefusedError)" in caplog.text
    assert "chef@garage-ecar.tn" not in caplog.text
