"""Credit notes: the only correction of an issued invoice, never for more than remains."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoices.models import CreditNote, InvoiceEvent
from invoices.tests.helpers import draft_invoice, issued_invoice

pytestmark = pytest.mark.django_db

NOTES = "/api/credit-notes/"
APPROVED = "approved"


def line(amount: str, rate: str = "19", description: str = "Remise") -> dict:
    return {"description": description, "quantity": "1", "unit_price": amount, "tva_rate": rate}


def create(client, invoice, **payload):
    return client.post(NOTES, {"invoice": invoice.pk, "reason": "Erreur", **payload}, format="json")


@pytest.fixture
def invoice(super_admin, owner):
    return issued_invoice(super_admin, owner.customer)  # 85.000 HT at 19 %, 102.150 TTC


def test_a_full_credit_note_cancels_an_unpaid_invoice(admin_client, super_admin, invoice):
    drafted = create(admin_client, invoice, reason="Facture émise par erreur")

    assert drafted.status_code == 201, drafted.content
    body = drafted.json()
    assert (body["status"], body["number"], body["invoice_number"]) == (
        "draft",
        None,
        invoice.number,
    )
    assert [item["total_ht"] for item in body["lines"]] == ["60.000", "25.000"]
    assert body["total_ttc"] == "102.150"

    issued = admin_client.post(f"{NOTES}{body['id']}/issue/")

    assert issued.status_code == 200, issued.content
    note = issued.json()
    assert note["number"].startswith("AV-") and note["number"].endswith("-000001")
    assert note["stamp_duty"] == "1.000"
    assert note["buyer"] == invoice.buyer
    invoice.refresh_from_db()
    assert (invoice.status, invoice.credited_total, invoice.balance_due) == (
        "credited",
        Decimal("102.150"),
        Decimal("0.000"),
    )
    event = InvoiceEvent.objects.get(invoice=invoice, kind="credit_note_issued")
    assert (event.actor, event.credit_note_id, event.data["number"]) == (
        super_admin,
        body["id"],
        note["number"],
    )


def test_a_fully_credited_order_can_be_invoiced_again(admin_client, invoice):
    note = create(admin_client, invoice).json()
    admin_client.post(f"{NOTES}{note['id']}/issue/")

    again = admin_client.post(
        "/api/invoices/", {"service_order": invoice.service_order_id}, format="json"
    )

    assert again.status_code == 201


def test_a_partial_credit_note_after_a_payment(admin_client, invoice):
    admin_client.post(
        f"/api/invoices/{invoice.pk}/payments/", {"method": "cash", "amount": "50"}, format="json"
    )

    note = create(admin_client, invoice, lines=[line("20.000")]).json()
    issued = admin_client.post(f"{NOTES}{note['id']}/issue/")

    assert issued.status_code == 200
    assert issued.json()["total_ttc"] == "24.800"  # 20.000 + 3.800 + 1.000
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due) == ("partially_paid", Decimal("27.350"))


def test_once_paid_in_part_the_lines_to_credit_must_be_given(admin_client, invoice):
    admin_client.post(
        f"/api/invoices/{invoice.pk}/payments/", {"method": "cash", "amount": "1"}, format="json"
    )

    response = create(admin_client, invoice)

    assert response.status_code == 400
    assert response.json()["code"] == "lines_required"
    assert not CreditNote.objects.exists()


def test_a_credit_note_never_exceeds_the_balance_due(admin_client, invoice):
    admin_client.post(
        f"/api/invoices/{invoice.pk}/payments/", {"method": "cash", "amount": "90"}, format="json"
    )

    response = create(admin_client, invoice, lines=[line("10.000")])  # 12.900 > 12.150 due

    assert response.status_code == 400
    assert response.json()["code"] == "credit_exceeds_balance"
    assert not CreditNote.objects.exists()


def test_a_credit_note_never_takes_back_more_than_was_invoiced_at_a_rate(
    admin_client, super_admin, owner
):
    invoice = issued_invoice(
        super_admin,
        owner.customer,
        labour=[("1.00", "10.000", "19.00", APPROVED)],
        parts=[(1, "100.000", "7.00", APPROVED)],
    )

    too_much = create(admin_client, invoice, lines=[line("10.001", "19")])
    foreign_rate = create(admin_client, invoice, lines=[line("1.000", "13")])
    fits = create(admin_client, invoice, lines=[line("10.000", "19")])

    assert too_much.status_code == 400
    assert too_much.json()["code"] == "credit_exceeds_invoice"
    assert foreign_rate.status_code == 400
    assert foreign_rate.json()["code"] == "tva_rate_not_on_invoice"
    assert fits.status_code == 201
    admin_client.post(f"{NOTES}{fits.json()['id']}/issue/")
    again = create(admin_client, invoice, lines=[line("0.001", "19")])
    assert again.json()["code"] == "credit_exceeds_invoice"  # 19 % fully credited already


def test_the_checks_run_again_when_the_credit_note_is_issued(admin_client, invoice):
    note = create(admin_client, invoice, lines=[line("50.000")]).json()  # 60.500 TTC
    admin_client.post(
        f"/api/invoices/{invoice.pk}/payments/", {"method": "card", "amount": "60"}, format="json"
    )

    response = admin_client.post(f"{NOTES}{note['id']}/issue/")

    assert response.status_code == 400
    assert response.json()["code"] == "credit_exceeds_balance"
    stored = CreditNote.objects.get(pk=note["id"])
    assert (stored.status, stored.number) == ("draft", None)


def test_a_draft_invoice_is_not_credited(admin_client, super_admin):
    draft = draft_invoice(super_admin)

    response = create(admin_client, draft)

    assert response.status_code == 400
    assert response.json()["code"] == "not_issued"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"invoice": "abc"}, "invoice"),
        ({"invoice": 999999}, "invoice"),
        ({"lines": []}, "lines"),
        (
            {"lines": [{"description": "x", "quantity": "0", "unit_price": "1", "tva_rate": "19"}]},
            "lines",
        ),
    ],
)
def test_invalid_credit_notes_are_refused_with_field_errors(admin_client, invoice, payload, field):
    response = admin_client.post(
        NOTES, {"invoice": invoice.pk, "reason": "Erreur", **payload}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not CreditNote.objects.exists()


def test_a_draft_credit_note_can_be_deleted_an_issued_one_cannot(admin_client, invoice):
    draft = create(admin_client, invoice, lines=[line("1.000")]).json()
    issued = create(admin_client, invoice, lines=[line("2.000")]).json()
    admin_client.post(f"{NOTES}{issued['id']}/issue/")

    assert admin_client.delete(f"{NOTES}{draft['id']}/").status_code == 204
    refused = admin_client.delete(f"{NOTES}{issued['id']}/")
    assert refused.status_code == 400 and refused.json()["code"] == "not_draft"
    twice = admin_client.post(f"{NOTES}{issued['id']}/issue/")
    assert twice.status_code == 400 and twice.json()["code"] == "not_draft"
    assert list(CreditNote.objects.values_list("pk", flat=True)) == [issued["id"]]


def test_customers_see_their_own_issued_credit_notes_only(
    admin_client, auth_client, owner, other_owner, super_admin, invoice
):
    mine = create(admin_client, invoice, lines=[line("1.000")]).json()
    admin_client.post(f"{NOTES}{mine['id']}/issue/")
    my_draft = create(admin_client, invoice, lines=[line("2.000")]).json()
    others_invoice = issued_invoice(super_admin, other_owner.customer)
    others = create(admin_client, others_invoice).json()
    admin_client.post(f"{NOTES}{others['id']}/issue/")
    client = auth_client(owner)

    listed = client.get(NOTES)

    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [mine["id"]]
    assert client.get(f"{NOTES}{mine['id']}/").status_code == 200
    assert client.get(f"{NOTES}{my_draft['id']}/").status_code == 404
    assert client.get(f"{NOTES}{others['id']}/").status_code == 404
    invoice_body = client.get(f"/api/invoices/{invoice.pk}/").json()
    assert [note["id"] for note in invoice_body["credit_notes"]] == [mine["id"]]


def test_credit_notes_are_written_by_super_admins_only(
    api_client, auth_client, owner, technician, invoice
):
    payload = {"invoice": invoice.pk, "reason": "x"}

    assert api_client.post(NOTES, payload, format="json").status_code == 401
    assert api_client.get(NOTES).status_code == 401
    assert auth_client(technician).get(NOTES).status_code == 403
    assert auth_client(technician).post(NOTES, payload, format="json").status_code == 403
    assert auth_client(owner).post(NOTES, payload, format="json").status_code == 403
    assert not CreditNote.objects.exists()


def test_a_customer_cannot_issue_or_delete_a_credit_note(admin_client, auth_client, owner, invoice):
    note = create(admin_client, invoice, lines=[line("1.000")]).json()
    client = auth_client(owner)

    assert client.post(f"{NOTES}{note['id']}/issue/").status_code == 403
    assert client.delete(f"{NOTES}{note['id']}/").status_code == 403
    assert CreditNote.objects.get().status == "draft"


def test_the_credit_note_list_costs_the_same_queries_for_1_and_10_notes(admin_client, super_admin):
    def note_for_new_invoice():
        invoice = issued_invoice(super_admin)
        create(admin_client, invoice, lines=[line("1.000")])

    note_for_new_invoice()
    with CaptureQueriesContext(connection) as one:
        assert admin_client.get(NOTES).status_code == 200
    for _ in range(9):
        note_for_new_invoice()
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(NOTES)

    assert response.json()["count"] == 10
    assert len(many) == len(one)
