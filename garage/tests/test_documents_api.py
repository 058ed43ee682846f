"""Vehicle documents: content-type detection, size limit, encrypted storage, download, delete."""

import os
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from garage.models import VehicleDocument
from garage.services.vehicles import vehicle_create, vehicle_document_upload
from garage.tests.documents import jpeg_document, pdf_document, png_document
from garage.tests.factories import customer_user
from privacy.models import AccessRecord, StoredFile

pytestmark = pytest.mark.django_db

MARKER = b"CARTE-GRISE-PLAINTEXT-MARKER-0123456789"
PDF = pdf_document(MARKER.decode(), lines=400)
JPEG = jpeg_document(MARKER.decode())
PNG = png_document(MARKER.decode())


def documents_url(vehicle) -> str:
    return f"/api/vehicles/{vehicle.pk}/documents/"


def download_url(document) -> str:
    return f"/api/vehicles/{document.vehicle_id}/documents/{document.pk}/download/"


def document_url(document) -> str:
    return f"/api/vehicles/{document.vehicle_id}/documents/{document.pk}/"


def upload(content=PDF, name="carte-grise.pdf", content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def vehicle_of(owner, plate="123 TU 4567"):
    return vehicle_create(customer=owner.customer, plate=plate, make="Kia", model="Picanto")


def stored_document(vehicle, actor, content=PDF, name="carte-grise.pdf"):
    return vehicle_document_upload(vehicle=vehicle, upload=upload(content, name), actor=actor)


def files_on_disk() -> set[str]:
    root = storages["encrypted"].location
    return {os.path.join(folder, name) for folder, _, names in os.walk(root) for name in names}


def downloaded(response) -> bytes:
    return b"".join(response.streaming_content)


# --- Upload -----------------------------------------------------------------------------------


def test_customer_uploads_a_pdf_stored_encrypted_under_a_random_name(auth_client):
    alice = customer_user("alice")
    vehicle = vehicle_of(alice)

    response = auth_client(alice).post(
        documents_url(vehicle), {"file": upload()}, format="multipart"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "registration"
    assert body["original_name"] == "carte-grise.pdf"
    assert body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF)
    document = VehicleDocument.objects.select_related("file").get(pk=body["id"])
    assert document.vehicle == vehicle
    assert document.uploaded_by == alice
    assert "carte" not in document.file.file.name
    with open(storages["encrypted"].path(document.file.file.name), "rb") as on_disk:
        ciphertext = on_disk.read()
    assert MARKER not in ciphertext
    assert not ciphertext.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("content", "name", "client_type", "detected", "stored_name"),
    [
        (JPEG, "photo.jpeg", "application/octet-stream", "image/jpeg", "photo.jpeg"),
        (PNG, "scan.bin", "application/pdf", "image/png", "scan.bin.png"),
        (PDF, "../../etc/passwd", "text/plain", "application/pdf", "passwd.pdf"),
    ],
)
def test_type_comes_from_the_content_not_the_name_or_client(
    auth_client, content, name, client_type, detected, stored_name
):
    alice = customer_user("alice")
    vehicle = vehicle_of(alice)

    response = auth_client(alice).post(
        documents_url(vehicle),
        {"file": upload(content, name, client_type)},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == detected
    assert response.json()["original_name"] == stored_name
    assert StoredFile.objects.get().content_type == detected


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200,  # Windows executable
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200,  # Linux executable
        b"<html><script>alert(1)</script></html>",
        b" %PDF-1.7 not at the start",
    ],
)
def test_a_renamed_executable_posing_as_a_pdf_is_refused(auth_client, content):
    alice = customer_user("alice")
    vehicle = vehicle_of(alice)
    before = files_on_disk()

    response = auth_client(alice).post(
        documents_url(vehicle),
        {"file": upload(content, "x.pdf", "application/pdf")},
        format="multipart",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_file_type"
    assert "file" in body["errors"]
    assert not VehicleDocument.objects.exists()
    assert not StoredFile.objects.exists()
    assert files_on_disk() == before


def test_an_upload_one_byte_over_the_limit_is_refused(auth_client):
    alice = customer_user("alice")
    vehicle = vehicle_of(alice)
    before = files_on_disk()
    content = b"%PDF-1.7\n" + b"0" * (settings.DOCUMENT_MAX_BYTES + 1 - 9)
    assert len(content) == 10 * 1024 * 1024 + 1

    response = auth_client(alice).post(
        documents_url(vehicle), {"file": upload(content)}, format="multipart"
    )

    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert "file" in response.json()["errors"]
    assert not StoredFile.objects.exists()
    assert files_on_disk() == before


def test_an_upload_at_the_limit_is_accepted(auth_client):
    alice = customer_user("alice")
    vehicle = vehicle_of(alice)
    content = pdf_document(size=settings.DOCUMENT_MAX_BYTES)

    response = auth_client(alice).post(
        documents_url(vehicle), {"file": upload(content)}, format="multipart"
    )

    assert response.status_code == 201, response.content
    assert response.json()["size"] == settings.DOCUMENT_MAX_BYTES


def test_a_body_too_large_to_be_kept_in_memory_is_refused_before_parsing(auth_client):
    """Past the multipart limit the body is refused by its length, before any parsing."""
    alice = customer_user("alice")
    vehicle = vehicle_of(alice)
    content = b"%PDF-1.7\n" + b"0" * (settings.FILE_UPLOAD_MAX_MEMORY_SIZE + 1024)

    response = auth_client(alice).post(
        documents_url(vehicle), {"file": upload(content)}, format="multipart"
    )

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert not StoredFile.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "file"),
        ({"file": "not a file"}, "file"),
        ({"file": SimpleUploadedFile("empty.pdf", b"")}, "file"),
        ({"file": SimpleUploadedFile("a.pdf", PDF), "kind": "passport"}, "kind"),
    ],
)
def test_invalid_upload_is_a_400_with_the_field(auth_client, data, field):
    alice = customer_user("alice")
    vehicle = vehicle_of(alice)

    response = auth_client(alice).post(documents_url(vehicle), data, format="multipart")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not StoredFile.objects.exists()


def test_super_admin_uploads_for_any_vehicle(auth_client, super_admin):
    vehicle = vehicle_of(customer_user("alice"))

    response = auth_client(super_admin).post(
        documents_url(vehicle), {"file": upload()}, format="multipart"
    )

    assert response.status_code == 201
    assert VehicleDocument.objects.get().uploaded_by == super_admin


def test_uploading_to_another_customers_vehicle_is_a_404(auth_client):
    alice = customer_user("alice")
    theirs = vehicle_of(customer_user("bob"))

    response = auth_client(alice).post(
        documents_url(theirs), {"file": upload()}, format="multipart"
    )

    assert response.status_code == 404
    assert not StoredFile.objects.exists()


def test_technician_may_not_upload_or_list_documents(auth_client, technician):
    vehicle = vehicle_of(customer_user("alice"))
    client = auth_client(technician)
    assert (
        client.post(documents_url(vehicle), {"file": upload()}, format="multipart").status_code
        == 403
    )
    assert client.get(documents_url(vehicle)).status_code == 403
    assert not StoredFile.objects.exists()


def test_documents_need_authentication(api_client):
    vehicle = vehicle_of(customer_user("alice"))
    assert api_client.get(documents_url(vehicle)).status_code == 401
    response = api_client.post(documents_url(vehicle), {"file": upload()}, format="multipart")
    assert response.status_code == 401


# --- List -------------------------------------------------------------------------------------


def test_customer_lists_documents_with_constant_queries(auth_client):
    alice = customer_user("alice")
    vehicle = vehicle_of(alice)
    client = auth_client(alice)
    stored_document(vehicle, alice, name="first.pdf")
    with CaptureQueriesContext(connection) as one:
        response = client.get(documents_url(vehicle))
    assert response.status_code == 200
    assert set(response.json()["results"][0]) == {
        "id",
        "kind",
        "original_name",
        "content_type",
        "size",
        "uploaded_at",
    }
    for index in range(49):
        stored_document(vehicle, alice, content=JPEG, name=f"page-{index}.jpg")
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(documents_url(vehicle), {"page_size": 50})
    assert len(response.json()["results"]) == 50
    assert len(fifty) == len(one)


def test_documents_of_another_customers_vehicle_are_a_404(auth_client):
    alice = customer_user("alice")
    bob = customer_user("bob")
    theirs = vehicle_of(bob)
    stored_document(theirs, bob)
    assert auth_client(alice).get(documents_url(theirs)).status_code == 404


# --- Download ---------------------------------------------------------------------------------


def test_download_round_trip_returns_the_uploaded_bytes(auth_client):
    alice = customer_user("alice")
    vehicle = vehicle_of(alice)
    client = auth_client(alice)
    created = client.post(documents_url(vehicle), {"file": upload()}, format="multipart").json()
    document = VehicleDocument.objects.get(pk=created["id"])

    response = client.get(download_url(document))

    assert response.status_code == 200
    assert response.streaming
    assert downloaded(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(PDF))
    assert response["Content-Disposition"] == 'attachment; filename="carte-grise.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    # The customer reading their own document is not someone else's access.
    assert not AccessRecord.objects.exists()


def test_a_non_ascii_name_gets_an_rfc_6266_filename_star(auth_client):
    alice = customer_user("alice")
    vehicle = vehicle_of(alice)
    name = 'بطاقة "رمادية".pdf'
    document = stored_document(vehicle, alice, name=name)

    response = auth_client(alice).get(download_url(document))

    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="')
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii()
    assert downloaded(response) == PDF


def test_super_admin_download_leaves_an_access_record(auth_client, super_admin):
    alice = customer_user("alice")
    document = stored_document(vehicle_of(alice), alice, content=PNG, name="scan.png")

    response = auth_client(super_admin).get(download_url(document), REMOTE_ADDR="198.51.100.9")

    assert response.status_code == 200
    assert downloaded(response) == PNG
    assert response["Content-Type"] == "image/png"
    record = AccessRecord.objects.get()
    assert record.action == "document.download"
    assert record.actor == super_admin
    assert record.subject_user == alice
    assert record.subject_type == ContentType.objects.get_for_model(VehicleDocument)
    assert record.subject_id == str(document.pk)
    assert record.ip == "198.51.100.9"


def test_downloading_another_customers_document_is_a_404(auth_client):
    alice = customer_user("alice")
    bob = customer_user("bob")
    mine = vehicle_of(alice)
    theirs = stored_document(vehicle_of(bob, plate="9 TU 9"), bob)
    client = auth_client(alice)

    assert client.get(download_url(theirs)).status_code == 404
    # Nor through one's own vehicle's URL.
    assert client.get(f"/api/vehicles/{mine.pk}/documents/{theirs.pk}/download/").status_code == 404


def test_technician_may_not_download(auth_client, technician):
    alice = customer_user("alice")
    document = stored_document(vehicle_of(alice), alice)
    assert auth_client(technician).get(download_url(document)).status_code == 403
    assert not AccessRecord.objects.exists()


def test_download_needs_authentication(api_client):
    alice = customer_user("alice")
    document = stored_document(vehicle_of(alice), alice)
    assert api_client.get(download_url(document)).status_code == 401


# --- Delete -----------------------------------------------------------------------------------


def test_owner_deletes_a_document_and_its_encrypted_file(
    auth_client, django_capture_on_commit_callbacks
):
    alice = customer_user("alice")
    document = stored_document(vehicle_of(alice), alice)
    path = storages["encrypted"].path(document.file.file.name)
    assert os.path.exists(path)

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client(alice).delete(document_url(document))

    assert response.status_code == 204
    assert not VehicleDocument.objects.exists()
    assert not StoredFile.objects.exists()
    assert not os.path.exists(path)


def test_super_admin_deletes_a_document(auth_client, super_admin):
    alice = customer_user("alice")
    document = stored_document(vehicle_of(alice), alice)
    assert auth_client(super_admin).delete(document_url(document)).status_code == 204
    assert not VehicleDocument.objects.exists()


def test_deleting_another_customers_document_is_a_404(auth_client):
    alice = customer_user("alice")
    bob = customer_user("bob")
    theirs = stored_document(vehicle_of(bob), bob)

    assert auth_client(alice).delete(document_url(theirs)).status_code == 404
    assert VehicleDocument.objects.filter(pk=theirs.pk).exists()


def test_technician_may_not_delete_a_document(auth_client, technician):
    alice = customer_user("alice")
    document = stored_document(vehicle_of(alice), alice)
    assert auth_client(technician).delete(document_url(document)).status_code == 403
    assert VehicleDocument.objects.exists()


def test_deleting_needs_authentication(api_client):
    alice = customer_user("alice")
    document = stored_document(vehicle_of(alice), alice)
    assert api_client.delete(document_url(document)).status_code == 401


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"\x89PNG\r\n\x1a\n", "signature-only.png"),
        (PNG[: len(PNG) // 2], "truncated.png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "not-really.jpg"),
        (b"%PDF-1.7\n" + b"x" * 200, "not-really.pdf"),
        (JPEG[:-40], "truncated.jpg"),
    ],
    ids=["png-signature", "png-truncated", "jpeg-header", "pdf-header", "jpeg-truncated"],
)
def test_a_file_with_the_right_magic_bytes_that_no_parser_reads_is_refused(
    auth_client, content, name
):
    alice = customer_user("alice")
    before = files_on_disk()

    response = auth_client(alice).post(
        documents_url(vehicle_of(alice)), {"file": upload(content, name)}, format="multipart"
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_file"
    assert not StoredFile.objects.exists()
    assert files_on_disk() == before
