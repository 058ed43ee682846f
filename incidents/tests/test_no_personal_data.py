"""No plaintext personal data in alerts, incidents, reports, outbox rows, logs or Sentry."""

import io
import json
import logging

import pytest
from django.core.management import call_command
from pypdf import PdfReader
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import user_create
from incidents.models import SecurityAlert
from notifications.models import Notification
from privacy.tests.people import database_occurrences

pytestmark = pytest.mark.django_db
PASSWORD = "Garage#Pass2026"


def login(username, password=PASSWORD, ip="127.0.0.1"):
    return APIClient(REMOTE_ADDR=ip).post(
        "/api/login/", {"username": username, "password": password}
    )


def test_personal_data_stays_out_of_alerts_incidents_outbox_logs_and_sentry(
    settings,
    make_customer,
    admin_user,
    run_detectors,
    caplog,
    mailoutbox,
    sentry_events,
    django_capture_on_commit_callbacks,
):
    caplog.set_level(logging.DEBUG)
    settings.DETECT_MASS_READ_PEOPLE = 3
    settings.INCIDENT_CONTACT = "dpo@garage-ecar.tn"
    people = [
        make_customer(f"zorro.secret{n}", email=f"zorro{n}@prive-mail.tn", phone=f"+2162177{n}001")
        for n in range(3)
    ]
    needles = set()
    for person in people:
        profile = person.profile
        needles |= {person.username, profile.full_name, profile.email, profile.phone}
        customer = person.customer
        needles |= {customer.full_name, customer.email, customer.phone, customer.national_id}
    # Failed logins type usernames (a victim's, and made-up ones for stuffing).
    for _ in range(10):
        login(people[0].username, "Wrong#Pass1", ip="198.51.100.5")
    stuffed = [f"leaked.person{n}" for n in range(8)]
    needles |= set(stuffed)
    for username in stuffed:
        login(username, "Leaked#Pass1", ip="203.0.113.40")
    rogue = user_create(username="rogue", password=PASSWORD, role=Role.SUPER_ADMIN)
    attacker = APIClient(REMOTE_ADDR="203.0.113.50")
    attacker.credentials(
        HTTP_AUTHORIZATION=f"Bearer {login(rogue.username, ip='203.0.113.50').json()['access']}"
    )
    for person in people:
        assert attacker.get(f"/api/customers/{person.customer.pk}/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        run_detectors()

    detectors = set(SecurityAlert.objects.values_list("detector", flat=True))
    assert {"brute_force", "credential_stuffing", "staff_mass_read"} <= detectors
    chef = APIClient()
    chef.credentials(HTTP_AUTHORIZATION=f"Bearer {login(admin_user.username).json()['access']}")
    alert = SecurityAlert.objects.get(detector="staff_mass_read")
    incident = chef.post(f"/api/alerts/{alert.pk}/open-incident/").json()
    notified = chef.post(
        f"/api/incidents/{incident['id']}/notify/",
        {"measures": ["Compte bloqué"], "recommended_actions": ["Changez votre mot de passe"]},
        format="json",
    )
    assert notified.json()["queued"] == 3
    call_command("run_notifications", stdout=io.StringIO())
    report_json = chef.get(f"/api/incidents/{incident['id']}/report/", {"format": "json"}).content
    report_pdf = chef.get(f"/api/incidents/{incident['id']}/report/").content
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(report_pdf)).pages)
    api_text = json.dumps(
        [
            chef.get("/api/alerts/").json(),
            chef.get(f"/api/incidents/{incident['id']}/").json(),
            chef.get(f"/api/incidents/{incident['id']}/timeline/").json(),
            chef.get(f"/api/incidents/{incident['id']}/affected/").json(),
        ],
        ensure_ascii=False,
    )
    assert Notification.objects.count() == 3
    assert len(mailoutbox) >= 3  # the breach notices reached the people (and alerts the staff)

    leaks = [
        (table, column, needle)
        for table, column, needle in database_occurrences(needles)
        if table.startswith(("incidents_", "notifications_"))
    ]
    assert leaks == []
    staff_mail = "\n".join(
        m.subject + m.body for m in mailoutbox if m.to[0] == "chef@garage-ecar.tn"
    )
    outputs = {
        "report json": report_json.decode(),
        "report pdf": pdf_text,
        "api": api_text,
        "logs": caplog.text,
        "sentry": json.dumps(sentry_events, ensure_ascii=False, default=str),
        "alert e-mails": staff_mail,
    }
    found = {name: [n for n in needles if n in text] for name, text in outputs.items()}
    assert found == {name: [] for name in outputs}
    assert sentry_events and staff_mail
