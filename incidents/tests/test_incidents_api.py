"""GET /api/incidents/ and its actions: containment that really ends access, the affected
people, notifying them through the outbox, the timeline and the INPDP report."""

import base64
import io
import ipaddress
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from accounts.models import Role, User
from accounts.services import user_create
from garage.models import Customer
from garage.tests.factories import CustomerFactory
from incidents.detectors import Finding
from incidents.models import BlockedNetwork, Incident, Severity
from incidents.selectors import BLOCKS_CACHE_KEY
from incidents.services import alert_raise
from notifications.models import Notification
from privacy.keys import generate_key, get_keys, reset_keys_cache

pytestmark = pytest.mark.django_db
PASSWORD = "Garage#Pass2026"
URL = "/api/incidents/"
ATTACKER_IP = "203.0.113.50"


def login(username, password=PASSWORD, ip="127.0.0.1"):
    return APIClient(REMOTE_ADDR=ip).post(
        "/api/login/", {"username": username, "password": password}
    )


def bearer(access, ip="127.0.0.1"):
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture
def breach(make_customer, admin_user):
    """A second super-admin's account is used from the attacker's IP to read two customers."""
    rogue = user_create(username="rogue", password=PASSWORD, role=Role.SUPER_ADMIN)
    people = {
        "a": make_customer("cust_a", language="fr"),
        "b": make_customer("cust_b", language="ar"),
        "c": make_customer("cust_c", language="en"),
        "d": make_customer("cust_d"),
    }
    start = timezone.now() - timedelta(minutes=5)
    rogue_tokens = login(rogue.username, ip=ATTACKER_IP).json()
    attacker = bearer(rogue_tokens["access"], ip=ATTACKER_IP)
    for key in ("a", "b"):
        assert attacker.get(f"/api/customers/{people[key].customer.pk}/").status_code == 200
    chef = bearer(login(admin_user.username).json()["access"])
    assert chef.get(f"/api/customers/{people['c'].customer.pk}/").status_code == 200
    incident = chef.post(
        URL,
        {
            "title": "Compte administrateur compromis",
            "occurred_from": start.isoformat(),
            "scope_user_ids": [rogue.pk],
        },
        format="json",
    )
    assert incident.status_code == 201, incident.content
    return {
        "rogue": rogue,
        "rogue_tokens": rogue_tokens,
        "people": people,
        "chef": chef,
        "incident": incident.json(),
        "attacker": attacker,
    }


def action(breach, name, payload=None, method="post"):
    url = f"{URL}{breach['incident']['id']}/{name}/"
    client = breach["chef"]
    if method == "get":
        return client.get(url, payload or {})
    return client.post(url, payload or {}, format="json")


def test_only_super_admins_reach_incidents(breach, auth_client, make_user):
    assert APIClient().get(URL).status_code == 401
    assert auth_client(make_user("tech", Role.TECHNICIAN)).get(URL).status_code == 403
    body = breach["chef"].get(URL).json()
    assert [i["reference"] for i in body["results"]] == [breach["incident"]["reference"]]
    assert breach["incident"]["reference"].startswith("INC-")


def test_customers_are_refused_and_an_unknown_incident_is_a_404(breach, make_customer, auth_client):
    customer = auth_client(make_customer("curious"))
    assert customer.get(URL).status_code == 403
    assert customer.get(f"{URL}{breach['incident']['id']}/").status_code == 403
    assert breach["chef"].get(f"{URL}999999/").status_code == 404


def test_an_incident_opened_from_alerts_links_them_and_unknown_alerts_are_a_400(breach):
    finding = Finding(
        detector="brute_force",
        severity=Severity.MEDIUM,
        key="test:linked",
        at=timezone.now(),
        evidence={"attempts": 10},
    )
    alert = alert_raise(finding=finding)[0]
    body = {"title": "Depuis une alerte", "occurred_from": timezone.now().isoformat()}
    before = Incident.objects.count()

    unknown = breach["chef"].post(URL, {**body, "alert_ids": [alert.pk, 999999]}, format="json")

    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_alerts"
    assert "999999" in unknown.content.decode()
    assert Incident.objects.count() == before
    opened = breach["chef"].post(URL, {**body, "alert_ids": [alert.pk]}, format="json")
    assert opened.status_code == 201, opened.content
    alert.refresh_from_db()
    assert alert.incident_id == opened.json()["id"] and alert.status == "acknowledged"


def test_affected_are_exactly_the_people_whose_records_were_read(breach):
    body = action(breach, "affected", method="get").json()

    people = breach["people"]
    assert body["count"] == 2
    assert [p["user_id"] for p in body["people"]] == sorted([people["a"].pk, people["b"].pk])
    assert all(p["categories"] == ["customer"] for p in body["people"])


def test_scope_by_network_finds_the_same_people(breach):
    incident = (
        breach["chef"]
        .post(
            URL,
            {
                "title": "Lecture depuis un réseau inconnu",
                "occurred_from": (timezone.now() - timedelta(hours=1)).isoformat(),
                "scope_networks": ["203.0.113.0/24"],
            },
            format="json",
        )
        .json()
    )

    body = breach["chef"].get(f"{URL}{incident['id']}/affected/").json()

    people = breach["people"]
    assert {p["user_id"] for p in body["people"]} == {people["a"].pk, people["b"].pk}


def test_revoking_sessions_ends_the_old_access_token(breach):
    old = bearer(breach["rogue_tokens"]["access"])
    assert old.get("/api/protected/").status_code == 200

    response = action(breach, "revoke-sessions", {"user_ids": [breach["rogue"].pk]})

    assert response.json() == {"count": 1}
    denied = old.get("/api/protected/")
    assert denied.status_code == 401 and denied.json()["code"] == "token_revoked"
    refresh = APIClient().post(
        "/api/token/refresh/", {"refresh": breach["rogue_tokens"]["refresh"]}
    )
    assert refresh.status_code == 401
    assert breach["chef"].get("/api/protected/").status_code == 200
    assert Incident.objects.get(pk=breach["incident"]["id"]).status == "contained"


def test_revoking_everyone_keeps_the_caller(breach):
    customer = breach["people"]["d"]
    token = login(customer.username).json()["access"]

    count = action(breach, "revoke-sessions", {"everyone": True}).json()["count"]

    assert count == User.objects.count() - 1
    assert bearer(token).get("/api/protected/").status_code == 401
    assert bearer(breach["rogue_tokens"]["access"]).get("/api/protected/").status_code == 401
    assert breach["chef"].get("/api/protected/").status_code == 200


def test_disabling_an_account_ends_it(breach, admin_user):
    assert action(breach, "disable-accounts", {"user_ids": [breach["rogue"].pk]}).json() == {
        "count": 1
    }
    assert bearer(breach["rogue_tokens"]["access"]).get("/api/protected/").status_code == 401
    assert login("rogue").status_code == 401
    self_disable = action(breach, "disable-accounts", {"user_ids": [admin_user.pk]})
    assert self_disable.status_code == 400 and self_disable.json()["code"] == "cannot_disable_self"
    unknown = action(breach, "disable-accounts", {"user_ids": [999999]})
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_users"


def test_a_forced_password_change_admits_only_the_change(breach):
    rogue = breach["rogue"]
    action(breach, "force-password-change", {"user_ids": [rogue.pk]})
    assert bearer(breach["rogue_tokens"]["access"]).get("/api/protected/").status_code == 401

    body = login(rogue.username).json()

    assert body["password_change_required"] is True
    client = bearer(body["access"])
    refused = client.get("/api/protected/")
    assert refused.status_code == 403 and refused.json()["code"] == "password_change_required"
    refresh = APIClient().post("/api/token/refresh/", {"refresh": body["refresh"]})
    assert refresh.status_code == 403 and refresh.json()["code"] == "password_change_required"
    changed = client.post(
        "/api/password/change/",
        {"current_password": PASSWORD, "new_password": "Nouveau#Secret2027"},
    )
    assert changed.status_code == 200, changed.content
    assert bearer(changed.json()["access"]).get("/api/protected/").status_code == 200
    assert "password_change_required" not in login(rogue.username, "Nouveau#Secret2027").json()


def test_blocking_a_network_refuses_its_requests_until_it_expires(
    breach, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = action(breach, "block-network", {"network": "203.0.113.0/24", "hours": 2})

    assert response.status_code == 201, response.content
    blocked = breach["attacker"].get("/api/protected/")
    assert blocked.status_code == 403 and blocked.json()["code"] == "network_blocked"
    assert login("cust_d", ip="203.0.113.77").status_code == 403
    assert login("cust_d", ip="198.51.100.1").status_code == 200
    cache.clear()  # a restarted cache: the next detectors pass publishes the blocks again
    call_command("run_detectors", stdout=io.StringIO())
    assert login("cust_d", ip="203.0.113.77").status_code == 403
    # Expired: the cached copy lapses on its own, and the next pass no longer publishes it.
    past = timezone.now() - timedelta(minutes=1)
    cache.set(BLOCKS_CACHE_KEY, [(ipaddress.ip_network("203.0.113.0/24"), past)])
    assert login("cust_d", ip="203.0.113.77").status_code == 200
    BlockedNetwork.objects.update(expires_at=past)
    call_command("run_detectors", stdout=io.StringIO())
    assert cache.get(BLOCKS_CACHE_KEY) == []


def test_each_worker_reads_the_published_blocks_once_per_interval(
    breach, settings, django_capture_on_commit_callbacks
):
    settings.NETWORK_BLOCKS_REFRESH_SECONDS = 3600
    attacker = breach["attacker"]
    assert attacker.get("/api/protected/").status_code == 200  # read: no block in force
    # Another worker publishes a block: this one still serves from what it read...
    soon = timezone.now() + timedelta(hours=1)
    cache.set(BLOCKS_CACHE_KEY, [(ipaddress.ip_network("203.0.113.0/24"), soon)])
    assert attacker.get("/api/protected/").status_code == 200

    settings.NETWORK_BLOCKS_REFRESH_SECONDS = 0  # ...until its interval is over

    assert attacker.get("/api/protected/").json()["code"] == "network_blocked"
    # A block made through this worker applies here at once, whatever the interval.
    cache.set(BLOCKS_CACHE_KEY, [])
    assert attacker.get("/api/protected/").status_code == 200
    settings.NETWORK_BLOCKS_REFRESH_SECONDS = 3600
    with django_capture_on_commit_callbacks(execute=True):
        action(breach, "block-network", {"network": "203.0.113.0/24", "hours": 2})
    assert attacker.get("/api/protected/").json()["code"] == "network_blocked"


def test_blocking_ones_own_or_a_huge_network_is_refused(breach):
    own = action(breach, "block-network", {"network": "127.0.0.0/8"})
    assert own.status_code == 400 and own.json()["code"] == "network_contains_caller"
    huge = action(breach, "block-network", {"network": "0.0.0.0/1"})
    assert huge.status_code == 400 and huge.json()["code"] == "network_too_wide"
    bad = action(breach, "block-network", {"network": "not-a-network"})
    assert bad.status_code == 400


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_rotating_keys_re_encrypts_under_the_new_key(breach, settings):
    ring = get_keys()
    old_id, old_key = ring.field_keys[0]
    customer = Customer.objects.get(user=breach["people"]["a"])
    name = customer.full_name
    settings.ENCRYPTION_KEY_FILE = ""
    settings.FIELD_ENCRYPTION_KEYS = f"k9:{generate_key()},{old_id}:{_b64(old_key)}"
    settings.BLIND_INDEX_KEY = _b64(ring.index_key)
    reset_keys_cache()

    body = action(breach, "rotate-keys").json()

    assert body["active_key"] == "k9" and body["values_rewritten"] > 0 and body["failures"] == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT full_name FROM garage_customer WHERE id = %s", [customer.pk])
        assert cursor.fetchone()[0].startswith("e1:k9:")
    assert Customer.objects.get(pk=customer.pk).full_name == name
    reset_keys_cache()


def test_notifying_queues_one_message_per_person_in_their_language(
    breach, mailoutbox, django_capture_on_commit_callbacks
):
    payload = {
        "measures": ["Sessions du compte compromis révoquées"],
        "recommended_actions": ["Méfiez-vous des appels se présentant comme le garage"],
        "contact": "dpo@garage-ecar.tn",
    }

    first = action(breach, "notify", payload)
    again = action(breach, "notify", payload)

    assert first.json() == {"queued": 2, "unreachable": 0}
    assert again.json() == {"queued": 2, "unreachable": 0}
    people = breach["people"]
    rows = {n.recipient_ref: n for n in Notification.objects.all()}
    assert set(rows) == {f"user:{people['a'].pk}", f"user:{people['b'].pk}"}
    assert rows[f"user:{people['a'].pk}"].language == "fr"
    assert rows[f"user:{people['b'].pk}"].language == "ar"
    assert {n.channel for n in rows.values()} == {"email"}
    assert rows[f"user:{people['b'].pk}"].context["data_categories"] == [
        "ملف الحريف (الاسم، بيانات الاتصال، بطاقة التعريف أو المعرف الجبائي)"
    ]
    assert (
        rows[f"user:{people['a'].pk}"].context["incident_reference"]
        == breach["incident"]["reference"]
    )

    call_command("run_notifications", stdout=io.StringIO())

    assert sorted(m.to[0] for m in mailoutbox) == [
        "cust_a@exemple-client.tn",
        "cust_b@exemple-client.tn",
    ]


def test_notifying_needs_a_contact(breach, settings):
    settings.INCIDENT_CONTACT = ""
    response = action(breach, "notify", {"measures": ["x"], "recommended_actions": ["y"]})
    assert response.status_code == 400 and response.json()["code"] == "contact_required"
    assert not Notification.objects.exists()


def test_timeline_and_close(breach):
    action(breach, "revoke-sessions", {"user_ids": [breach["rogue"].pk]})
    action(breach, "block-network", {"network": "203.0.113.0/24"})

    kinds = [item["kind"] for item in action(breach, "timeline", method="get").json()]

    assert kinds == ["window_start", "opened", "sessions_revoked", "network_blocked"]
    closed = action(breach, "close")
    assert closed.json()["status"] == "closed"
    late = action(breach, "revoke-sessions", {"everyone": True})
    assert late.status_code == 409 and late.json()["code"] == "invalid_status"


def test_the_authority_report(breach, settings):
    settings.INCIDENT_CONTACT = "dpo@garage-ecar.tn"
    action(breach, "revoke-sessions", {"user_ids": [breach["rogue"].pk]})

    as_json = action(breach, "report", {"format": "json"}, method="get")
    pdf = action(breach, "report", method="get")

    data = json.loads(as_json.content)
    assert data["people_affected"] == {"total": 2, "with_account": 2, "without_account": 0}
    assert data["data_categories"] == ["customer"]
    assert [m["kind"] for m in data["measures"]] == ["sessions_revoked"]
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert breach["incident"]["reference"] in text
    assert "Nombre : 2" in text and "Sessions révoquées" in text
    kinds = [i["kind"] for i in action(breach, "timeline", method="get").json()]
    assert kinds.count("report_downloaded") == 2


def test_a_walk_in_customer_read_by_the_attacker_is_affected_and_notified(breach):
    walk_in = CustomerFactory(email="passant@exemple-client.tn")
    assert breach["attacker"].get(f"/api/customers/{walk_in.pk}/").status_code == 200

    people = action(breach, "affected", method="get").json()["people"]
    notified = action(
        breach, "notify", {"measures": ["m"], "recommended_actions": ["r"], "contact": "c"}
    )

    assert {"user_id": None, "customer_id": walk_in.pk} in [
        {"user_id": p["user_id"], "customer_id": p["customer_id"]} for p in people
    ]
    assert notified.json()["queued"] == 3
    row = Notification.objects.get(recipient_ref=f"customer:{walk_in.pk}")
    assert row.channel == "email" and row.language == "fr"


def test_scope_everyone_covers_every_customer(breach):
    incident = (
        breach["chef"]
        .post(
            URL,
            {
                "title": "Copie de la base de données",
                "occurred_from": (timezone.now() - timedelta(days=1)).isoformat(),
                "scope_everyone": True,
            },
            format="json",
        )
        .json()
    )

    body = breach["chef"].get(f"{URL}{incident['id']}/affected/").json()

    customers = User.objects.filter(role=Role.CUSTOMER).count()
    assert body["count"] == customers == 4
    assert "contact_details" in body["people"][0]["categories"]
