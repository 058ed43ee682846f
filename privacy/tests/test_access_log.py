"""GET /api/me/access-log/: who read the caller's personal data, by name and role only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import user_create
from garage.services.vehicles import vehicle_create, vehicle_document_upload
from garage.tests.factories import customer_user
from privacy.models import AccessRecord
from privacy.tests.people import PASSWORD, logged_in_client, pdf_bytes

pytestmark = pytest.mark.django_db

LOG = "/api/me/access-log/"
STAFF_EMAIL = "sonia.staff@garage-ecar.tn"
STAFF_PHONE = "+21698111222"


@pytest.fixture
def admin(db):
    return user_create(
        username="frontdesk",
        password=PASSWORD,
        role=Role.SUPER_ADMIN,
        contact={"full_name": "Sonia Accueil", "email": STAFF_EMAIL, "phone": STAFF_PHONE},
    )


@pytest.fixture
def admin_client(admin):
    return logged_in_client(admin)


@pytest.fixture
def alice(db):
    return customer_user("alice")


@pytest.fixture
def alice_client(alice):
    return logged_in_client(alice)


def customer_url(user) -> str:
    return f"/api/customers/{user.customer.pk}/"


def test_a_staff_read_of_the_customer_record_is_listed_by_name_and_role(
    alice, alice_client, admin, admin_client
):
    assert admin_client.get(customer_url(alice)).status_code == 200

    response = alice_client.get(LOG)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [row] = body["results"]
    assert set(row) == {"when", "action", "by", "role"}
    assert (row["action"], row["by"], row["role"]) == (
        "customer.read",
        "Sonia Accueil",
        "super_admin",
    )
    record = AccessRecord.objects.get(subject_user=alice)
    assert record.actor == admin
    # Nothing else about the reader: not their e-mail, phone, username or IP address.
    text = response.content.decode()
    for detail in (STAFF_EMAIL, STAFF_PHONE, admin.username, "127.0.0.1"):
        assert detail not in text


def test_a_staff_document_download_is_listed(alice, alice_client, admin_client):
    vehicle = vehicle_create(customer=alice.customer, plate="123 TU 4567", make="Kia", model="Rio")
    upload = SimpleUploadedFile("cg.pdf", pdf_bytes("CG"), content_type="application/pdf")
    document = vehicle_document_upload(vehicle=vehicle, upload=upload, actor=alice)
    url = f"/api/vehicles/{vehicle.pk}/documents/{document.pk}/download/"
    response = admin_client.get(url)
    assert response.status_code == 200
    b"".join(response.streaming_content)

    rows = alice_client.get(LOG).json()["results"]

    assert [(r["action"], r["by"]) for r in rows] == [("document.download", "Sonia Accueil")]


def test_a_reader_without_a_full_name_is_shown_by_username(alice, alice_client, make_user):
    anonymous_admin = make_user("desk2", Role.SUPER_ADMIN)
    logged_in_client(anonymous_admin).get(customer_url(alice))

    [row] = alice_client.get(LOG).json()["results"]

    assert (row["by"], row["role"]) == ("desk2", "super_admin")


def test_the_persons_own_reads_are_not_listed(alice, alice_client):
    assert alice_client.get(customer_url(alice)).status_code == 200
    assert alice_client.get("/api/download_user_data/").status_code == 200
    assert AccessRecord.objects.filter(actor=alice, subject_user=alice).exists()  # recorded…

    body = alice_client.get(LOG).json()

    assert body["count"] == 0  # …but not someone else reading her data
    assert body["results"] == []


def test_another_persons_access_log_is_never_visible(alice, alice_client, admin_client):
    bob = customer_user("bob")
    bob_client = logged_in_client(bob)
    admin_client.get(customer_url(bob))
    admin_client.get(customer_url(bob))

    assert alice_client.get(LOG).json()["count"] == 0
    assert alice_client.get(LOG, {"user": bob.pk, "subject_user": bob.pk}).json()["count"] == 0
    assert bob_client.get(LOG).json()["count"] == 2


def test_the_access_log_is_paginated_newest_first(alice, alice_client, admin_client):
    for _ in range(25):
        assert admin_client.get(customer_url(alice)).status_code == 200

    first = alice_client.get(LOG).json()
    second = alice_client.get(LOG, {"page": 2}).json()

    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["next"] is not None and first["previous"] is None
    assert len(second["results"]) == 5 and second["next"] is None
    whens = [row["when"] for row in first["results"] + second["results"]]
    assert whens == sorted(whens, reverse=True)
    assert len(alice_client.get(LOG, {"page_size": 5}).json()["results"]) == 5


def test_the_access_log_query_count_does_not_grow_with_readers(alice, alice_client, make_user):
    def reads(count):
        for index in range(count):
            reader = make_user(f"reader{index}-{AccessRecord.objects.count()}", Role.SUPER_ADMIN)
            logged_in_client(reader).get(customer_url(alice))

    reads(1)
    with CaptureQueriesContext(connection) as one:
        assert alice_client.get(LOG).status_code == 200
    reads(9)
    with CaptureQueriesContext(connection) as ten:
        assert len(alice_client.get(LOG).json()["results"]) == 10

    assert len(ten.captured_queries) == len(one.captured_queries)


def test_the_access_log_needs_authentication():
    assert APIClient().get(LOG).status_code == 401
