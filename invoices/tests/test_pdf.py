"""PDFs of issued invoices and credit notes: every legal mention, in French, 3 decimals."""

import io

import pytest
from pypdf import PdfReader

from garage.models import Customer
from invoices.tests.helpers import SELLER, draft_invoice, issued_invoice
from privacy.models import AccessRecord

pytestmark = pytest.mark.django_db
APPROVED = "approved"


def pdf_text(response) -> str:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


@pytest.fixture
def invoice(super_admin, owner):
    return issued_invoice(
        super_admin,
        owner.customer,
        labour=[("1.50", "40.000", "19.00", APPROVED)],
        parts=[(2, "12.500", "19.00", APPROVED), (3, "33.333", "7.00", APPROVED)],
    )


def test_the_customer_downloads_the_pdf_of_their_invoice(owner_client, owner, invoice):
    response = owner_client.get(f"/api/invoices/{invoice.pk}/pdf/")

    text = pdf_text(response)
    assert f'filename="facture-{invoice.number}.pdf"' in response["Content-Disposition"]
    assert f"Facture N° {invoice.number}" in text
    assert f"Date : {invoice.issue_date:%d/%m/%Y}" in text
    # The seller: legal name, address, matricule fiscal, trade register, bank.
    for value in (SELLER["legal_name"], SELLER["address"], SELLER["tax_id"]):
        assert value in text
    assert f"Registre du commerce (RC) : {SELLER['trade_register']}" in text
    assert SELLER["bank_account"] in text
    # The buyer as snapshotted: name, address, CIN.
    assert owner.customer.full_name in text
    assert owner.customer.address in text
    assert f"CIN : {owner.customer.national_id}" in text
    # Lines and totals, 3 decimals, TVA per rate.
    assert "Pneu" not in text and "Part" in text
    assert "Total HT 184,999 TND" in text  # 60 + 25 + 99.999
    assert "TVA 19 % (base 85,000) 16,150 TND" in text
    assert "TVA 7 % (base 99,999) 7,000 TND" in text
    assert "Timbre fiscal 1,000 TND" in text
    assert "Total TTC 209,149 TND" in text
    assert str(invoice.total_ttc) == "209.149"
    assert (
        "Arrêtée la présente facture à la somme de : deux cent neuf dinars et cent quarante-neuf "
        "millimes." in text
    )
    assert not AccessRecord.objects.exists()  # the customer's own document


def test_a_company_invoice_prints_the_buyers_matricule_fiscal(admin_client, super_admin):
    company = Customer.objects.create(
        kind=Customer.Kind.COMPANY,
        full_name="Leila Ferchichi",
        company_name="Location Cap Bon SARL",
        tax_id="1111111C",
        address="Avenue Habib Bourguiba, 8000 Nabeul",
    )
    invoice = issued_invoice(super_admin, company)

    text = pdf_text(admin_client.get(f"/api/invoices/{invoice.pk}/pdf/"))

    assert "Location Cap Bon SARL" in text
    assert "Matricule fiscal (MF) : 1111111C" in text
    assert "CIN" not in text


def test_the_pdf_keeps_the_buyer_as_issued(owner_client, owner, invoice):
    Customer.objects.filter(pk=owner.customer.pk).update(full_name="Nom Change")

    text = pdf_text(owner_client.get(f"/api/invoices/{invoice.pk}/pdf/"))

    assert owner.customer.full_name in text
    assert "Nom Change" not in text


def test_a_buyer_name_outside_the_pdf_font_does_not_break_the_pdf(admin_client, super_admin):
    customer = Customer.objects.create(full_name="محمد Ben Ali", address="Tunis")
    invoice = issued_invoice(super_admin, customer)

    text = pdf_text(admin_client.get(f"/api/invoices/{invoice.pk}/pdf/"))

    assert "Ben Ali" in text


def test_staff_downloading_a_pdf_leaves_an_access_record(admin_client, super_admin, owner, invoice):
    admin_client.get(f"/api/invoices/{invoice.pk}/pdf/")

    record = AccessRecord.objects.get()
    assert (record.actor, record.subject_user, record.action) == (
        super_admin,
        owner,
        "invoice.pdf",
    )


def test_the_credit_note_pdf_refers_to_its_invoice(admin_client, auth_client, owner, invoice):
    note = admin_client.post(
        "/api/credit-notes/",
        {"invoice": invoice.pk, "reason": "Pièce retournée"},
        format="json",
    ).json()
    number = admin_client.post(f"/api/credit-notes/{note['id']}/issue/").json()["number"]

    response = auth_client(owner).get(f"/api/credit-notes/{note['id']}/pdf/")

    text = pdf_text(response)
    assert "FACTURE D'AVOIR" in text
    assert f"Avoir N° {number}" in text
    assert f"Facture d'origine N° {invoice.number} du {invoice.issue_date:%d/%m/%Y}" in text
    assert "Motif : Pièce retournée" in text
    assert SELLER["tax_id"] in text
    assert "Timbre fiscal 1,000 TND" in text
    assert "Total TTC 209,149 TND" in text
    assert "Arrêté le présent avoir à la somme de" in text


def test_drafts_have_no_pdf(admin_client, auth_client, owner, super_admin):
    draft = draft_invoice(super_admin, owner.customer)

    as_admin = admin_client.get(f"/api/invoices/{draft.pk}/pdf/")

    assert as_admin.status_code == 400
    assert as_admin.json()["code"] == "not_issued"
    assert auth_client(owner).get(f"/api/invoices/{draft.pk}/pdf/").status_code == 404


def test_pdfs_are_refused_to_others(
    api_client, auth_client, technician, other_owner, invoice, admin_client
):
    path = f"/api/invoices/{invoice.pk}/pdf/"
    note = admin_client.post(
        "/api/credit-notes/", {"invoice": invoice.pk, "reason": "x"}, format="json"
    ).json()
    admin_client.post(f"/api/credit-notes/{note['id']}/issue/")
    note_path = f"/api/credit-notes/{note['id']}/pdf/"

    assert api_client.get(path).status_code == 401
    assert auth_client(technician).get(path).status_code == 403
    assert auth_client(other_owner).get(path).status_code == 404
    assert auth_client(other_owner).get(note_path).status_code == 404
    assert auth_client(technician).get(note_path).status_code == 403
