"""El Fatoora through the API: signed TEIF files, the status workflow, TTN's answer, bulk export,
the refusal at issue, and the PDF once TTN accepted the invoice."""

import base64
import csv
import io
import zipfile
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from lxml import etree
from pypdf import PdfReader

from garage.services.customers import customer_create
from invoices import services
from invoices.models import CreditNote, DocumentSequence, EInvoiceStatus, Invoice, InvoiceEvent
from invoices.teif.signing import TeifSignatureError, verify_teif
from invoices.teif.validation import validate_teif
from invoices.tests.helpers import completed_order, draft_invoice, issued_invoice, seller
from privacy.models import AccessRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(super_admin, owner):
    return issued_invoice(super_admin, owner.customer)


def teif_url(document, step=""):
    kind = "credit-notes" if isinstance(document, CreditNote) else "invoices"
    return f"/api/{kind}/{document.pk}/teif/{step + '/' if step else ''}"


# --- The signed file ------------------------------------------------------------------------------


def test_a_super_admin_downloads_the_signed_teif(admin_client, invoice, teif_on, teif_ca):
    response = admin_client.get(teif_url(invoice))

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/xml"
    assert response["Cache-Control"] == "no-store"
    assert f'filename="TEIF_{invoice.number}.xml"' in response["Content-Disposition"]
    validate_teif(response.content)
    signed = verify_teif(response.content, certificate=teif_on)
    assert signed.findtext("InvoiceBody/Bgm/DocumentIdentifier") == invoice.number
    teif_on.verify_directly_issued_by(teif_ca[1])  # the signer chains to the test CA
    assert AccessRecord.objects.filter(action="invoice.teif", subject_id=str(invoice.pk)).exists()


def test_any_change_to_the_signed_file_breaks_the_signature(admin_client, invoice, teif_on):
    content = admin_client.get(teif_url(invoice)).content
    total = f">{invoice.total_ttc}<".encode()
    assert total in content

    for altered in (
        content.replace(total, f">{invoice.total_ttc + 1}<".encode()),  # an amount
        content.replace(b"<ItemCode>MO</ItemCode>", b"<ItemCode>MO </ItemCode>", 1),  # a space
        content.replace(b'type="I-02"', b'type="I-01"', 1),  # an attribute
    ):
        assert altered != content
        with pytest.raises(TeifSignatureError):
            verify_teif(altered, certificate=teif_on)


def test_the_signing_time_is_a_signed_property(admin_client, invoice, teif_on):
    content = admin_client.get(teif_url(invoice)).content
    root = etree.fromstring(content)
    node = root.find(".//{http://uri.etsi.org/01903/v1.3.2#}SigningTime")
    node.text = "2000-01-01T00:00:00+00:00"

    with pytest.raises(TeifSignatureError):
        verify_teif(etree.tostring(root), certificate=teif_on)


def test_another_key_does_not_verify(admin_client, invoice, teif_on, teif_ca):
    from invoices.tests.teif_helpers import make_signing_cert

    content = admin_client.get(teif_url(invoice)).content
    _key, stranger = make_signing_cert(teif_ca)

    with pytest.raises(TeifSignatureError):
        verify_teif(content, certificate=stranger)


NOT_SUPER_ADMINS = ["anonymous", "customer", "other_customer", "technician"]

# Each TEIF action, and the steps (done by a super-admin) after which it would succeed: a refused
# call is then refused for who is calling, not for the document's state.
TEIF_ACTIONS = {
    "": [],
    "export": [],
    "submitted": ["export"],
    "answer": ["export", "submitted"],
}
ANSWER = {"accepted": True, "reference": "REF-TTN-1", "qr_payload": "https://ttn.tn/v?r=1"}


@pytest.fixture
def credit_note(super_admin, invoice):
    return services.credit_note_issue(
        actor=super_admin,
        credit_note=services.credit_note_create(
            actor=super_admin, invoice=invoice, reason="Erreur"
        ),
    )


@pytest.fixture
def caller(request, api_client, auth_client, owner, other_owner, technician):
    """The client of a caller who is not a super-admin (``customer`` owns the documents)."""
    return {
        "anonymous": lambda: api_client,
        "customer": lambda: auth_client(owner),
        "other_customer": lambda: auth_client(other_owner),
        "technician": lambda: auth_client(technician),
    }[request.param]()


def einvoice_state(document):
    row = type(document).objects.get(pk=document.pk)
    return {
        "einvoice_status": row.einvoice_status,
        "einvoice_updated_at": row.einvoice_updated_at,
        "teif_xml": row.teif_xml,
        "ttn_reference": row.ttn_reference,
        "ttn_qr_payload": row.ttn_qr_payload,
        "ttn_rejection_reason": row.ttn_rejection_reason,
    }


def assert_refused(response, who):
    expected = (401, "not_authenticated") if who == "anonymous" else (403, "permission_denied")
    assert (response.status_code, response.json()["code"]) == expected, response.content
    assert "teif_xml" not in response.content.decode()
    assert "<TEIF" not in response.content.decode()


@pytest.mark.parametrize("caller", NOT_SUPER_ADMINS, indirect=True)
@pytest.mark.parametrize("kind", ["invoice", "credit_note"])
@pytest.mark.parametrize("step", list(TEIF_ACTIONS), ids=lambda step: step or "download")
def test_only_super_admins_use_the_teif_actions(
    request, caller, kind, step, admin_client, teif_on, settings
):
    who = request.node.callspec.params["caller"]
    document = request.getfixturevalue(kind)
    for done in TEIF_ACTIONS[step]:
        assert admin_client.post(teif_url(document, done)).status_code == 200
    before = einvoice_state(document)
    events = InvoiceEvent.objects.filter(kind=InvoiceEvent.Kind.EINVOICE).count()
    reads = AccessRecord.objects.count()
    outbox = Path(settings.TEIF_OUTBOX_DIR)
    files = sorted(outbox.iterdir()) if outbox.exists() else []

    if step:
        response = caller.post(
            teif_url(document, step), ANSWER if step == "answer" else None, format="json"
        )
    else:
        response = caller.get(teif_url(document))

    assert_refused(response, who)
    assert einvoice_state(document) == before
    assert InvoiceEvent.objects.filter(kind=InvoiceEvent.Kind.EINVOICE).count() == events
    assert AccessRecord.objects.count() == reads
    assert (sorted(outbox.iterdir()) if outbox.exists() else []) == files
    # The same call by a super-admin succeeds: the refusal was for the caller only.
    if step:
        allowed = admin_client.post(
            teif_url(document, step), ANSWER if step == "answer" else None, format="json"
        )
    else:
        allowed = admin_client.get(teif_url(document))
    assert allowed.status_code == 200, allowed.content


@pytest.mark.parametrize("caller", NOT_SUPER_ADMINS, indirect=True)
def test_only_super_admins_bulk_export(
    request, caller, admin_client, invoice, credit_note, teif_on
):
    who = request.node.callspec.params["caller"]
    day = invoice.issue_date.isoformat()
    url = f"/api/invoices/teif-export/?start={day}&end={day}"

    response = caller.get(url)

    assert not response.streaming
    assert_refused(response, who)
    assert not AccessRecord.objects.filter(action__endswith=".teif_bulk").exists()
    allowed = admin_client.get(url)
    assert allowed.status_code == 200 and allowed.streaming


def test_an_unknown_document_is_a_404(admin_client, teif_on):
    assert admin_client.get("/api/invoices/999999/teif/").status_code == 404
    assert admin_client.get("/api/credit-notes/999999/teif/").status_code == 404


def test_a_draft_has_no_teif(admin_client, super_admin, teif_on):
    seller()
    draft = draft_invoice(super_admin)

    response = admin_client.get(teif_url(draft))

    assert (response.status_code, response.json()["code"]) == (400, "not_issued")


def test_without_e_invoicing_the_file_is_refused_clearly(admin_client, invoice):
    response = admin_client.get(teif_url(invoice))

    assert (response.status_code, response.json()["code"]) == (400, "teif_disabled")


def test_an_unusable_certificate_is_a_503_without_the_passphrase(
    admin_client, invoice, teif_on, settings, tmp_path
):
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase")
    settings.TEIF_SIGNING_PASSPHRASE_FILE = str(wrong)

    response = admin_client.get(teif_url(invoice))

    assert (response.status_code, response.json()["code"]) == (503, "teif_certificate")
    assert "not the passphrase" not in response.content.decode()


# --- Refused at issue ---------------------------------------------------------------------------


def test_issue_refuses_a_buyer_teif_cannot_identify(admin_client, super_admin, teif_on):
    seller()
    walk_in = customer_create(full_name="Client de passage", address="Tunis")  # no CIN, no MF
    draft = draft_invoice(super_admin, walk_in)

    response = admin_client.post(f"/api/invoices/{draft.pk}/issue/")

    body = response.json()
    assert (response.status_code, body["code"]) == (400, "teif_invalid")
    assert "CIN" in body["errors"]["teif"][0]
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.number is None
    assert not DocumentSequence.objects.filter(last_number__gt=0).exists()  # no number used


def test_issue_refuses_a_company_matricule_teif_1_8_8_does_not_accept(
    admin_client, super_admin, teif_on
):
    seller()
    company = customer_create(
        kind="company",
        full_name="Achats",
        company_name="Sahel SA",
        tax_id="1234567A",
        address="Sousse",
    )
    draft = draft_invoice(super_admin, company)

    response = admin_client.post(f"/api/invoices/{draft.pk}/issue/")

    assert (response.status_code, response.json()["code"]) == (400, "teif_invalid")


def test_with_e_invoicing_off_such_an_invoice_is_issued(admin_client, super_admin):
    seller()
    walk_in = customer_create(full_name="Client de passage", address="Tunis")
    draft = draft_invoice(super_admin, walk_in)

    assert admin_client.post(f"/api/invoices/{draft.pk}/issue/").status_code == 200


def test_a_company_invoice_carries_its_matricule_fiscal(super_admin, admin_client, teif_on):
    company = customer_create(
        kind="company",
        full_name="Service achats",
        company_name="Transports Sahel SARL",
        tax_id="1234567A/A/M/000",
        address="Zone industrielle, 4000 Sousse",
    )
    invoice = issued_invoice(super_admin, company)

    root = etree.fromstring(admin_client.get(teif_url(invoice)).content)

    receiver = root.find("InvoiceHeader/MessageRecieverIdentifier")
    assert (receiver.get("type"), receiver.text) == ("I-01", "1234567AAM000")
    assert (
        root.find(".//PartnerDetails[@functionCode='I-64']/Nad/PartnerName").get("nameType")
        == "Qualification"
    )


# --- Workflow -------------------------------------------------------------------------------------


def test_export_signs_into_the_outbox_records_an_event_and_an_audit_row(
    admin_client, invoice, teif_on, settings
):
    response = admin_client.post(teif_url(invoice, "export"))

    assert response.status_code == 200, response.content
    assert response.json()["einvoice_status"] == "exported"
    outbox = [p for p in __import__("pathlib").Path(settings.TEIF_OUTBOX_DIR).iterdir()]
    assert [p.name for p in outbox] == [f"TEIF_{invoice.number}.xml"]
    assert oct(outbox[0].stat().st_mode & 0o777) == "0o600"
    verify_teif(outbox[0].read_bytes(), certificate=teif_on)
    event = InvoiceEvent.objects.get(invoice=invoice, kind=InvoiceEvent.Kind.EINVOICE)
    assert (event.data["from"], event.data["to"]) == ("not_sent", "exported")
    audit = (
        LogEntry.objects.get_for_object(Invoice.objects.get(pk=invoice.pk)).filter(action=1).first()
    )
    assert "einvoice_status" in audit.changes_dict
    # The API now serves the file exported, not a new signature.
    assert admin_client.get(teif_url(invoice)).content == outbox[0].read_bytes()


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        ([], "submitted"),
        ([], "answer"),
        (["export"], "answer"),
        (["export"], "export"),
        (["export", "submitted"], "submitted"),
        (["export", "submitted"], "export"),
    ],
)
def test_out_of_order_steps_are_refused(admin_client, invoice, teif_on, steps, refused):
    for step in steps:
        assert admin_client.post(teif_url(invoice, step)).status_code == 200
    status_before = Invoice.objects.get(pk=invoice.pk).einvoice_status
    payload = (
        {"accepted": True, "reference": "REF", "qr_payload": "QR"} if refused == "answer" else None
    )

    response = admin_client.post(teif_url(invoice, refused), payload, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "einvoice_out_of_order")
    assert Invoice.objects.get(pk=invoice.pk).einvoice_status == status_before


def test_accepted_with_reference_and_qr_then_printed_on_the_pdf(admin_client, invoice, teif_on):
    admin_client.post(teif_url(invoice, "export"))
    admin_client.post(teif_url(invoice, "submitted"))

    response = admin_client.post(
        teif_url(invoice, "answer"),
        {
            "accepted": True,
            "reference": "0736202XAM00012345678",
            "qr_payload": "https://ttn.tn/v?r=1",
        },
        format="json",
    )

    body = response.json()
    assert response.status_code == 200, body
    assert (body["einvoice_status"], body["ttn_reference"]) == ("accepted", "0736202XAM00012345678")
    pdf = PdfReader(io.BytesIO(admin_client.get(f"/api/invoices/{invoice.pk}/pdf/").content))
    text = pdf.pages[-1].extract_text()
    assert "Référence TTN : 0736202XAM00012345678" in text
    assert any(page.images for page in pdf.pages)  # the QR code
    kinds = list(
        InvoiceEvent.objects.filter(invoice=invoice, kind="einvoice").values_list(
            "data__to", flat=True
        )
    )
    assert kinds == ["exported", "submitted", "accepted"]


def test_rejected_with_its_reason_then_exported_again(admin_client, invoice, teif_on):
    admin_client.post(teif_url(invoice, "export"))
    admin_client.post(teif_url(invoice, "submitted"))

    missing = admin_client.post(teif_url(invoice, "answer"), {"accepted": False}, format="json")
    rejected = admin_client.post(
        teif_url(invoice, "answer"),
        {"accepted": False, "reason": "Signature absente"},
        format="json",
    )

    assert missing.status_code == 400
    assert (rejected.json()["einvoice_status"], rejected.json()["ttn_rejection_reason"]) == (
        "rejected",
        "Signature absente",
    )
    again = admin_client.post(teif_url(invoice, "export"))
    assert (again.json()["einvoice_status"], again.json()["ttn_rejection_reason"]) == (
        "exported",
        "",
    )


def ttn_returned(signed: bytes, reference: str) -> bytes:
    """The file as TTN returns it: ours, then RefTtnVal with the reference and the CEV image."""
    root = etree.fromstring(signed)
    ref = etree.SubElement(root, "RefTtnVal")
    etree.SubElement(ref, "ReferenceTTN", refID="I-88").text = reference
    date = etree.SubElement(ref, "ReferenceDate")
    etree.SubElement(date, "DateText", format="ddMMyyHHmm", functionCode="I-37").text = "0312261030"
    import qrcode

    buffer = io.BytesIO()
    qrcode.make(reference).save(buffer, format="PNG")
    etree.SubElement(ref, "ReferenceCEV").text = base64.b64encode(buffer.getvalue()).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_ttn_returned_file_is_imported_and_checked(admin_client, invoice, teif_on):
    admin_client.post(teif_url(invoice, "export"))
    admin_client.post(teif_url(invoice, "submitted"))
    sent = Invoice.objects.get(pk=invoice.pk).teif_xml.encode()
    returned = ttn_returned(sent, "TTN-REF-000123")
    tampered = returned.replace(f">{invoice.total_ttc}<".encode(), b">1.000<")

    bad = admin_client.post(
        teif_url(invoice, "answer"),
        {"accepted": "true", "file": io.BytesIO(tampered)},
        format="multipart",
    )
    good = admin_client.post(
        teif_url(invoice, "answer"),
        {"accepted": "true", "file": io.BytesIO(returned)},
        format="multipart",
    )

    assert (bad.status_code, bad.json()["code"]) == (400, "ttn_file_mismatch")
    assert good.status_code == 200, good.content
    assert (good.json()["einvoice_status"], good.json()["ttn_reference"]) == (
        "accepted",
        "TTN-REF-000123",
    )
    validate_teif(admin_client.get(teif_url(invoice)).content)  # TTN's file, RefTtnVal included
    pdf = PdfReader(io.BytesIO(admin_client.get(f"/api/invoices/{invoice.pk}/pdf/").content))
    assert any(page.images for page in pdf.pages)


def test_credit_notes_follow_the_same_workflow(admin_client, super_admin, invoice, teif_on):
    note = services.credit_note_issue(
        actor=super_admin,
        credit_note=services.credit_note_create(
            actor=super_admin, invoice=invoice, reason="Erreur"
        ),
    )
    base = f"/api/credit-notes/{note.pk}/teif/"

    assert admin_client.post(f"{base}export/").json()["einvoice_status"] == "exported"
    verify_teif(admin_client.get(base).content, certificate=teif_on)
    assert admin_client.post(f"{base}submitted/").json()["einvoice_status"] == "submitted"
    accepted = admin_client.post(
        f"{base}answer/",
        {"accepted": True, "reference": "AV-REF", "qr_payload": "qr"},
        format="json",
    )
    assert accepted.json()["einvoice_status"] == "accepted"
    assert InvoiceEvent.objects.filter(credit_note=note, kind="einvoice").count() == 3


def test_invoices_are_filtered_by_e_invoicing_status(admin_client, super_admin, invoice, teif_on):
    other = issued_invoice(super_admin)
    admin_client.post(teif_url(invoice, "export"))

    response = admin_client.get("/api/invoices/?einvoice_status=exported")

    assert [row["id"] for row in response.json()["results"]] == [invoice.pk]
    assert other.einvoice_status == EInvoiceStatus.NOT_SENT


# --- Bulk export --------------------------------------------------------------------------------


def test_the_accountant_downloads_a_period_as_a_streamed_zip(
    admin_client, super_admin, invoice, teif_on
):
    note = services.credit_note_issue(
        actor=super_admin,
        credit_note=services.credit_note_create(
            actor=super_admin, invoice=invoice, reason="Erreur"
        ),
    )
    day = invoice.issue_date.isoformat()

    response = admin_client.get(f"/api/invoices/teif-export/?start={day}&end={day}")

    assert response.status_code == 200
    assert response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = sorted(archive.namelist())
    assert names == sorted(
        ["index.csv", f"factures/TEIF_{invoice.number}.xml", f"avoirs/TEIF_{note.number}.xml"]
    )
    for name in names[:-1] if names[-1] == "index.csv" else names:
        if name.endswith(".xml"):
            verify_teif(archive.read(name), certificate=teif_on)
    assert invoice.number in archive.read("index.csv").decode()
    records = AccessRecord.objects.filter(action__endswith=".teif_bulk")
    assert sorted((r.action, r.subject_id, r.subject_user_id) for r in records) == sorted(
        [
            ("invoice.teif_bulk", str(invoice.pk), invoice.customer.user_id),
            ("creditnote.teif_bulk", str(note.pk), invoice.customer.user_id),
        ]
    )


def test_a_document_teif_cannot_accept_is_listed_not_exported_and_reads_are_recorded(
    admin_client, super_admin, owner, settings, teif_identity, tmp_path
):
    walk_in = customer_create(full_name="Client de passage", address="Rue de Marseille, Tunis")
    invalid_one = issued_invoice(super_admin, walk_in)  # e-invoicing off: issued without a CIN
    valid_one = issued_invoice(super_admin, owner.customer)
    cert, p12, secret = teif_identity
    settings.TEIF_ENABLED = True
    settings.TEIF_SIGNING_CERT = str(p12)
    settings.TEIF_SIGNING_PASSPHRASE_FILE = str(secret)
    settings.TEIF_OUTBOX_DIR = str(tmp_path / "outbox")
    day = valid_one.issue_date.isoformat()

    response = admin_client.get(f"/api/invoices/teif-export/?start={day}&end={day}")

    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == ["factures/TEIF_" + valid_one.number + ".xml", "index.csv"]
    verify_teif(archive.read(f"factures/TEIF_{valid_one.number}.xml"), certificate=cert)
    index = archive.read("index.csv").decode()
    rows = {row["number"]: row for row in csv.DictReader(io.StringIO(index))}
    assert rows[valid_one.number]["teif_problem"] == ""
    assert rows[invalid_one.number]["teif_problem"].startswith("teif_invalid: ")
    for personal in ("Client de passage", "Marseille", owner.customer.full_name):
        assert personal not in index
    # The buyer's identity went out in the valid file only: one access record, for it.
    records = AccessRecord.objects.filter(action="invoice.teif_bulk")
    assert [(r.subject_id, r.subject_user_id, r.actor_id) for r in records] == [
        (str(valid_one.pk), owner.pk, super_admin.pk)
    ]


@pytest.mark.parametrize(
    "query", ["", "?start=2026-02-01&end=2026-01-01", "?start=2024-01-01&end=2026-01-01"]
)
def test_the_bulk_export_needs_a_period_of_at_most_a_year(admin_client, teif_on, query):
    assert admin_client.get(f"/api/invoices/teif-export/{query}").status_code == 400


def test_the_pdf_shows_vehicle_order_payment_terms_and_situation(owner_client, super_admin, owner):
    order = completed_order(owner.customer)
    order.odometer_in = 123456
    order.save(update_fields=["odometer_in"])
    seller()
    draft = services.invoice_create(actor=super_admin, service_order=order)
    invoice = services.invoice_issue(actor=super_admin, invoice=draft)
    services.payment_record(
        actor=super_admin, invoice=invoice, method="cash", amount=invoice.total_ttc / 2
    )

    pdf = PdfReader(io.BytesIO(owner_client.get(f"/api/invoices/{invoice.pk}/pdf/").content))
    text = "\n".join(page.extract_text() for page in pdf.pages)

    vehicle = order.vehicle
    assert f"Véhicule : {vehicle.make} {vehicle.model}" in text
    assert f"Immatriculation : {vehicle.plate}" in text and f"VIN : {vehicle.vin}" in text
    assert "Kilométrage : 123 456 km" in text
    assert f"Ordre de réparation N° {order.pk}" in text
    assert "Conditions de paiement : à réception de la facture." in text
    assert "Situation : partiellement payée, reste à payer" in text
