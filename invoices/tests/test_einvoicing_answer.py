"""TTN's answer, one rule for the API and the admin: the returned file is at most
TTN_FILE_MAX_BYTES (413, code file_too_large, nothing changed), read no further than that; a
returned file in another encoding than UTF-8 is kept, re-serialised as UTF-8, and still verifies."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from lxml import etree

from config.exceptions import ApplicationError
from invoices.models import Invoice, InvoiceEvent
from invoices.services import einvoicing
from invoices.services.einvoicing import TTN_FILE_MAX_BYTES
from invoices.teif.signing import verify_teif
from invoices.teif.validation import validate_teif
from invoices.tests.helpers import issued_invoice
from invoices.tests.test_einvoicing_api import teif_url, ttn_returned
from invoices.tests.test_immutability import admin_site_client  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/invoices/invoice/"
TOO_LARGE = b"<" + b"x" * TTN_FILE_MAX_BYTES  # one byte past the limit


@pytest.fixture
def submitted(super_admin, owner, teif_on):
    """An issued invoice exported and submitted: waiting for TTN's answer."""
    invoice = issued_invoice(super_admin, owner.customer)
    einvoicing.einvoice_export(actor=super_admin, document=invoice)
    einvoicing.einvoice_mark_submitted(actor=super_admin, document=invoice)
    return Invoice.objects.get(pk=invoice.pk)


def state(invoice) -> tuple:
    invoice = Invoice.objects.get(pk=invoice.pk)
    events = InvoiceEvent.objects.filter(invoice=invoice).count()
    return invoice.einvoice_status, invoice.ttn_reference, invoice.teif_xml, events


class _Stream:
    """An upload without a size (a stream): records how much each read asks for."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)
        self.asked: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        return self._data.read(size)


def test_the_api_refuses_a_returned_file_past_the_limit_and_changes_nothing(
    admin_client, submitted
):
    before = state(submitted)

    response = admin_client.post(
        teif_url(submitted, "answer"),
        {"accepted": "true", "file": io.BytesIO(TOO_LARGE)},
        format="multipart",
    )

    assert response.status_code == 413, response.content
    assert response.json()["code"] == "file_too_large"
    assert state(submitted) == before
    assert before[0] == "submitted"


def test_a_file_of_exactly_the_limit_is_not_refused_for_its_size(admin_client, submitted):
    response = admin_client.post(
        teif_url(submitted, "answer"),
        {"accepted": "true", "file": io.BytesIO(TOO_LARGE[:-1])},
        format="multipart",
    )

    assert (response.status_code, response.json()["code"]) == (400, "ttn_file_invalid")


def test_the_admin_path_reads_no_more_than_the_limit_and_refuses(super_admin, submitted):
    """The service the admin action calls: a stream without a size is cut at limit + 1."""
    before = state(submitted)
    upload = _Stream(TOO_LARGE + b"x" * 1024)

    with pytest.raises(ApplicationError) as refused:
        einvoicing.einvoice_record_answer(
            actor=super_admin, document=submitted, accepted=True, returned_file=upload
        )

    assert (refused.value.code, refused.value.status_code) == ("file_too_large", 413)
    assert upload.asked == [TTN_FILE_MAX_BYTES + 1]
    assert state(submitted) == before


def test_accept_with_bytes_past_the_limit_is_refused_too(super_admin, submitted):
    before = state(submitted)

    with pytest.raises(ApplicationError) as refused:
        einvoicing.einvoice_accept(actor=super_admin, document=submitted, signed_file=TOO_LARGE)

    assert refused.value.code == "file_too_large"
    assert state(submitted) == before


def test_the_admin_action_shows_the_refusal_as_a_message(admin_site_client, submitted):  # noqa: F811
    before = state(submitted)

    page = admin_site_client.post(
        CHANGELIST,
        {
            "action": "einvoice_record_answer",
            "_selected_action": [submitted.pk],
            "confirm": "1",
            "accepted": "on",
            "file": SimpleUploadedFile("ttn.xml", TOO_LARGE, content_type="text/xml"),
        },
        follow=True,
    )

    assert page.status_code == 200
    assert b"larger than 2 MB" in page.content
    assert state(submitted) == before


def test_the_admin_action_records_a_rejection_through_the_same_service(
    admin_site_client,  # noqa: F811
    submitted,
):
    page = admin_site_client.post(
        CHANGELIST,
        {
            "action": "einvoice_record_answer",
            "_selected_action": [submitted.pk],
            "confirm": "1",
            "reason": "Matricule inconnu",
        },
        follow=True,
    )

    assert b"answer recorded" in page.content
    invoice = Invoice.objects.get(pk=submitted.pk)
    assert (invoice.einvoice_status, invoice.ttn_rejection_reason) == (
        "rejected",
        "Matricule inconnu",
    )


def test_a_returned_file_in_iso_8859_1_is_kept_as_utf8_and_still_verifies(
    admin_client, submitted, teif_on
):
    returned = ttn_returned(submitted.teif_xml.encode(), "TTN-REF-LATIN1")
    latin1 = etree.tostring(etree.fromstring(returned), xml_declaration=True, encoding="ISO-8859-1")
    assert b"R\xe9publique" in latin1  # the seller's address: not valid UTF-8 as such

    response = admin_client.post(
        teif_url(submitted, "answer"),
        {"accepted": "true", "file": io.BytesIO(latin1)},
        format="multipart",
    )

    assert response.status_code == 200, response.content
    assert response.json()["ttn_reference"] == "TTN-REF-LATIN1"
    stored = admin_client.get(teif_url(submitted)).content
    assert stored.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "République".encode() in stored
    verify_teif(stored, certificate=teif_on)
    validate_teif(stored)
    assert admin_client.get(f"/api/invoices/{submitted.pk}/pdf/").status_code == 200
