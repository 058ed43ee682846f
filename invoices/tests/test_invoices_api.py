"""Invoices through the API: drafts from service orders, lines, issue, access by role."""

import datetime
import json
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from garage.models import Customer, LineApproval, ServiceOrder
from invoices.models import FiscalRate, Invoice, InvoiceEvent, SellerProfile
from invoices.tests.helpers import completed_order, draft_invoice, issued_invoice
from privacy.models import AccessRecord

pytestmark = pytest.mark.django_db

APPROVED, PENDING, DECLINED = LineApproval.APPROVED, LineApproval.PENDING, LineApproval.DECLINED


def url(invoice=None, suffix=""):
    return f"/api/invoices/{invoice.pk}/{suffix}" if invoice else "/api/invoices/"


# --- Create -------------------------------------------------------------------------------------


def test_super_admin_drafts_an_invoice_from_a_completed_order(admin_client, super_admin):
    order = completed_order(
        labour=[("1.50", "40.000", "19.00", APPROVED)],
        parts=[(2, "12.500", "19.00", APPROVED), (1, "30.000", "7.00", APPROVED)],
    )

    response = admin_client.post(url(), {"service_order": order.pk}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["number"] is None and body["buyer"] is None
    assert [(line["kind"], line["quantity"], line["total_ht"]) for line in body["lines"]] == [
        ("labour", "1.500", "60.000"),
        ("part", "2.000", "25.000"),
        ("part", "1.000", "30.000"),
    ]
    assert body["tva"] == [
        {"rate": "19.00", "base": "85.000", "amount": "16.150"},
        {"rate": "7.00", "base": "30.000", "amount": "2.100"},
    ]
    assert (body["total_ht"], body["total_tva"], body["stamp_duty"], body["total_ttc"]) == (
        "115.000",
        "18.250",
        "1.000",
        "134.250",
    )
    invoice = Invoice.objects.get(pk=body["id"])
    assert (invoice.service_order_id, invoice.customer_id) == (order.pk, order.customer_id)
    assert invoice.created_by == super_admin
    event = InvoiceEvent.objects.get(invoice=invoice)
    assert (event.kind, event.actor) == ("created", super_admin)
    entry = LogEntry.objects.get_for_object(invoice).get(action=LogEntry.Action.CREATE)
    assert entry.actor == super_admin


def test_declined_lines_never_reach_the_invoice_nor_pending_ones_once_lines_were_decided(
    admin_client,
):
    order = completed_order(
        labour=[("1.00", "50.000", "19.00", APPROVED), ("2.00", "50.000", "19.00", DECLINED)],
        parts=[(1, "10.000", "19.00", PENDING)],
    )

    body = admin_client.post(url(), {"service_order": order.pk}, format="json").json()

    assert [line["total_ht"] for line in body["lines"]] == ["50.000"]


def test_an_order_whose_lines_were_never_decided_is_invoiced_with_its_pending_lines(
    admin_client,
):
    order = completed_order(
        labour=[("1.00", "50.000", "19.00", PENDING)],
        parts=[(1, "10.000", "19.00", PENDING)],
    )

    body = admin_client.post(url(), {"service_order": order.pk}, format="json").json()

    assert [line["total_ht"] for line in body["lines"]] == ["50.000", "10.000"]


def test_a_delivered_order_can_be_invoiced(admin_client):
    order = completed_order(status=ServiceOrder.Status.DELIVERED)

    assert admin_client.post(url(), {"service_order": order.pk}, format="json").status_code == 201


@pytest.mark.parametrize(
    "status", [ServiceOrder.Status.IN_PROGRESS, ServiceOrder.Status.CANCELLED, "draft"]
)
def test_an_unfinished_order_cannot_be_invoiced(admin_client, status):
    order = completed_order(status=status)

    response = admin_client.post(url(), {"service_order": order.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "order_not_completed"
    assert "service_order" in response.json()["errors"]
    assert not Invoice.objects.exists()


def test_an_order_is_invoiced_once(admin_client, super_admin):
    invoice = draft_invoice(super_admin)

    response = admin_client.post(url(), {"service_order": invoice.service_order_id}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "already_invoiced"
    assert Invoice.objects.count() == 1


def test_an_order_with_only_declined_lines_has_nothing_to_invoice(admin_client):
    order = completed_order(labour=[("1.00", "9.000", "19.00", DECLINED)], parts=[])

    response = admin_client.post(url(), {"service_order": order.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "nothing_to_invoice"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "service_order"),
        ({"service_order": "x"}, "service_order"),
        ({"service_order": 999999}, "service_order"),
    ],
)
def test_create_with_invalid_input_is_a_400_with_field_errors(admin_client, payload, field):
    response = admin_client.post(url(), payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_create_needs_a_super_admin(api_client, auth_client, technician, owner):
    order = completed_order(owner.customer)
    payload = {"service_order": order.pk}

    assert api_client.post(url(), payload, format="json").status_code == 401
    assert auth_client(technician).post(url(), payload, format="json").status_code == 403
    assert auth_client(owner).post(url(), payload, format="json").status_code == 403
    assert not Invoice.objects.exists()


# --- List and retrieve --------------------------------------------------------------------------


def test_a_customer_lists_only_their_own_issued_invoices(
    owner_client, owner, other_owner, super_admin
):
    mine = issued_invoice(super_admin, owner.customer)
    draft_invoice(super_admin, owner.customer)  # a draft: internal work
    issued_invoice(super_admin, other_owner.customer)

    response = owner_client.get(url())

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]
    assert response.json()["results"][0]["number"] == mine.number


def test_super_admin_lists_every_invoice_and_filters_by_status(admin_client, super_admin):
    issued = issued_invoice(super_admin)
    draft = draft_invoice(super_admin)

    every = admin_client.get(url()).json()["results"]
    drafts = admin_client.get(url(), {"status": "draft"}).json()["results"]

    assert {row["id"] for row in every} == {issued.pk, draft.pk}
    assert [row["id"] for row in drafts] == [draft.pk]
    assert admin_client.get(url(), {"status": "nonsense"}).status_code == 400


def test_technicians_and_anonymous_callers_cannot_list(api_client, auth_client, technician):
    assert api_client.get(url()).status_code == 401
    assert auth_client(technician).get(url()).status_code == 403


def test_the_list_costs_the_same_queries_for_1_and_30_invoices(admin_client, super_admin):
    issued_invoice(super_admin)
    with CaptureQueriesContext(connection) as one:
        assert admin_client.get(url()).status_code == 200
    for _ in range(29):
        issued_invoice(super_admin)
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url(), {"page_size": 50})

    assert len(response.json()["results"]) == 30
    assert len(many) == len(one)


def test_a_customer_reads_their_issued_invoice_with_buyer_and_tva(owner_client, owner, super_admin):
    invoice = issued_invoice(super_admin, owner.customer)

    response = owner_client.get(url(invoice))

    assert response.status_code == 200
    body = response.json()
    assert body["number"] == invoice.number
    assert body["buyer"]["name"] == owner.customer.full_name
    assert body["buyer"]["national_id"] == owner.customer.national_id
    assert body["seller"]["tax_id"] == SellerProfile.current().tax_id
    assert body["tva"] == [{"rate": "19.00", "base": "85.000", "amount": "16.150"}]
    assert body["balance_due"] == body["total_ttc"] == "102.150"
    assert body["retention_until"] == str(
        invoice.issue_date.replace(year=invoice.issue_date.year + 10)
    )
    assert not AccessRecord.objects.exists()  # one's own data: no access record


def test_another_customers_invoice_and_ones_own_draft_are_404(
    owner_client, owner, other_owner, super_admin
):
    others = issued_invoice(super_admin, other_owner.customer)
    own_draft = draft_invoice(super_admin, owner.customer)

    assert owner_client.get(url(others)).status_code == 404
    assert owner_client.get(url(own_draft)).status_code == 404
    assert owner_client.get("/api/invoices/999999/").status_code == 404


def test_retrieve_is_refused_to_technicians_and_anonymous_callers(
    api_client, auth_client, technician, super_admin
):
    invoice = issued_invoice(super_admin)

    assert api_client.get(url(invoice)).status_code == 401
    assert auth_client(technician).get(url(invoice)).status_code == 403


def test_staff_reading_an_issued_invoice_leaves_an_access_record(admin_client, super_admin, owner):
    invoice = issued_invoice(super_admin, owner.customer)

    assert admin_client.get(url(invoice)).status_code == 200

    record = AccessRecord.objects.get()
    assert (record.actor, record.subject_user, record.action) == (
        super_admin,
        owner,
        "invoice.read",
    )
    assert record.subject_type == ContentType.objects.get_for_model(Invoice)
    assert record.subject_id == str(invoice.pk)


# --- Draft edits --------------------------------------------------------------------------------


def test_super_admin_edits_the_header_of_a_draft(admin_client, super_admin):
    invoice = draft_invoice(super_admin)
    due = timezone.localdate() + datetime.timedelta(days=30)

    response = admin_client.patch(
        url(invoice), {"due_date": str(due), "notes": "Paiement à 30 jours."}, format="json"
    )

    assert response.status_code == 200, response.content
    invoice.refresh_from_db()
    assert (invoice.due_date, invoice.notes) == (due, "Paiement à 30 jours.")


def test_patch_with_invalid_input_is_a_400(admin_client, super_admin):
    invoice = draft_invoice(super_admin)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    bad_format = admin_client.patch(url(invoice), {"due_date": "soon"}, format="json")
    past = admin_client.patch(url(invoice), {"due_date": str(yesterday)}, format="json")

    assert bad_format.status_code == 400 and "due_date" in bad_format.json()["errors"]
    assert past.status_code == 400 and "due_date" in past.json()["errors"]


def test_customers_cannot_edit_or_delete_invoices(auth_client, owner, super_admin):
    invoice = issued_invoice(super_admin, owner.customer)
    client = auth_client(owner)

    assert client.patch(url(invoice), {"notes": "x"}, format="json").status_code == 403
    assert client.delete(url(invoice)).status_code == 403
    assert client.post(url(invoice, "issue/")).status_code == 403
    assert client.post(url(invoice, "lines/"), {}, format="json").status_code == 403


def test_a_draft_can_be_deleted(admin_client, super_admin):
    invoice = draft_invoice(super_admin)

    assert admin_client.delete(url(invoice)).status_code == 204
    assert not Invoice.objects.filter(pk=invoice.pk).exists()


def test_lines_of_a_draft_are_added_changed_and_removed(admin_client, super_admin):
    invoice = draft_invoice(super_admin)  # 85.000 HT at 19 %

    added = admin_client.post(
        url(invoice, "lines/"),
        {"description": "Pneu", "quantity": "4", "unit_price": "99.999", "tva_rate": "7"},
        format="json",
    )
    assert added.status_code == 201, added.content
    assert (added.json()["total_ht"], added.json()["tva_amount"]) == ("399.996", "28.000")
    line_id = added.json()["id"]

    changed = admin_client.patch(
        url(invoice, f"lines/{line_id}/"), {"quantity": "2.5"}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["total_ht"] == "249.998"  # 249.9975 rounded half-up
    invoice.refresh_from_db()
    assert invoice.total_ht == Decimal("334.998")
    assert invoice.total_ttc == Decimal("334.998") + Decimal("16.150") + Decimal("17.500") + 1

    assert admin_client.delete(url(invoice, f"lines/{line_id}/")).status_code == 204
    invoice.refresh_from_db()
    assert (invoice.total_ht, invoice.total_ttc) == (Decimal("85.000"), Decimal("102.150"))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "1.0001"}, "quantity"),
        ({"unit_price": "-1"}, "unit_price"),
        ({"unit_price": "1.0005"}, "unit_price"),
        ({"tva_rate": "18"}, "tva_rate"),  # not a rate in force
        ({"description": ""}, "description"),
        ({"kind": "gift"}, "kind"),
    ],
)
def test_invalid_lines_are_refused_with_field_errors(admin_client, super_admin, payload, field):
    invoice = draft_invoice(super_admin)
    line = {"description": "Pneu", "quantity": "1", "unit_price": "10", "tva_rate": "19"}

    response = admin_client.post(url(invoice, "lines/"), {**line, **payload}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert invoice.lines.count() == 2


def test_a_line_of_another_invoice_is_404(admin_client, super_admin):
    invoice, other = draft_invoice(super_admin), draft_invoice(super_admin)
    line = other.lines.first()

    response = admin_client.patch(
        url(invoice, f"lines/{line.pk}/"), {"quantity": "3"}, format="json"
    )

    assert response.status_code == 404
    assert admin_client.delete(url(invoice, f"lines/{line.pk}/")).status_code == 404


# --- Issue --------------------------------------------------------------------------------------


def test_issuing_numbers_dates_and_freezes_the_invoice(admin_client, super_admin, seller, owner):
    invoice = draft_invoice(super_admin, owner.customer)
    today = timezone.localdate()

    response = admin_client.post(url(invoice, "issue/"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["number"] == f"{today.year}-000001"
    assert body["status"] == "issued"
    assert body["issue_date"] == str(today)
    assert body["retention_until"] == str(today.replace(year=today.year + 10))
    assert body["buyer"] == {
        "kind": "individual",
        "name": owner.customer.full_name,
        "contact": "",
        "address": owner.customer.address,
        "tax_id": "",
        "national_id": owner.customer.national_id,
    }
    assert body["seller"]["legal_name"] == seller.legal_name
    invoice.refresh_from_db()
    assert invoice.issued_by == super_admin
    event = InvoiceEvent.objects.get(invoice=invoice, kind="issued")
    assert event.actor == super_admin
    assert event.data == {"number": body["number"], "total_ttc": "102.150"}


def test_the_audit_trail_records_the_issue_without_the_buyer_in_clear(
    admin_client, super_admin, owner, seller
):
    invoice = draft_invoice(super_admin, owner.customer)

    assert admin_client.post(url(invoice, "issue/")).status_code == 200

    updates = LogEntry.objects.get_for_object(invoice).filter(action=LogEntry.Action.UPDATE)
    update = next(entry for entry in updates if "number" in entry.changes)
    assert update.actor == super_admin
    assert update.changes["number"][1] == Invoice.objects.get().number
    assert update.changes["buyer"][1] == "[redacted]"
    everything = json.dumps([e.changes for e in LogEntry.objects.all()], default=str)
    assert owner.customer.full_name not in everything
    assert owner.customer.national_id not in everything


def test_issuing_twice_is_refused(admin_client, super_admin):
    invoice = issued_invoice(super_admin)

    response = admin_client.post(url(invoice, "issue/"))

    assert response.status_code == 400
    assert response.json()["code"] == "not_draft"


def test_issue_needs_the_seller_identity(admin_client, super_admin):
    invoice = draft_invoice(super_admin)
    SellerProfile.objects.all().delete()

    response = admin_client.post(url(invoice, "issue/"))

    assert response.status_code == 400
    assert response.json()["code"] == "seller_not_configured"
    invoice.refresh_from_db()
    assert invoice.status == "draft" and invoice.number is None


def test_a_company_is_invoiced_by_name_and_matricule_fiscal(admin_client, super_admin, seller):
    company = Customer.objects.create(
        kind=Customer.Kind.COMPANY,
        full_name="Sami Trabelsi",
        company_name="Transports Trabelsi SA",
        tax_id="7654321B",
        address="Route de Gabès km 3, Sfax",
    )
    invoice = draft_invoice(super_admin, company)

    buyer = admin_client.post(url(invoice, "issue/")).json()["buyer"]

    assert buyer["name"] == "Transports Trabelsi SA"
    assert buyer["contact"] == "Sami Trabelsi"
    assert buyer["tax_id"] == "7654321B"


def test_a_company_without_matricule_fiscal_cannot_be_invoiced(admin_client, super_admin, seller):
    company = Customer.objects.create(
        kind=Customer.Kind.COMPANY, full_name="X", company_name="Sans MF SARL"
    )
    invoice = draft_invoice(super_admin, company)

    response = admin_client.post(url(invoice, "issue/"))

    assert response.status_code == 400
    assert response.json()["code"] == "buyer_tax_id_missing"


def test_a_line_at_a_rate_no_longer_in_force_blocks_the_issue(admin_client, super_admin, seller):
    invoice = draft_invoice(super_admin, labour=[("1.00", "10.000", "13.00", APPROVED)], parts=[])
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    FiscalRate.objects.filter(kind="tva", value=13).update(valid_until=yesterday)

    response = admin_client.post(url(invoice, "issue/"))

    assert response.status_code == 400
    assert response.json()["code"] == "tva_rate_not_in_force"


def test_stamp_duty_comes_from_the_rate_table(admin_client, super_admin, seller):
    today = timezone.localdate()
    FiscalRate.objects.create(kind="stamp_duty", value=Decimal("1.500"), valid_from=today)
    invoice = draft_invoice(super_admin)

    body = admin_client.post(url(invoice, "issue/")).json()

    assert body["stamp_duty"] == "1.500"
    assert body["total_ttc"] == "102.650"


def test_later_edits_of_the_customer_do_not_change_an_issued_invoice(
    owner_client, owner, super_admin
):
    invoice = issued_invoice(super_admin, owner.customer)
    Customer.objects.filter(pk=owner.customer.pk).update(
        full_name="Nouveau Nom", address="Ailleurs"
    )

    buyer = owner_client.get(url(invoice)).json()["buyer"]

    assert buyer["name"].startswith("Client Test")
    assert buyer["address"] == "12 rue de Marseille, 1001 Tunis"


def test_the_buyer_snapshot_is_encrypted_at_rest(super_admin, owner):
    invoice = issued_invoice(super_admin, owner.customer)

    with connection.cursor() as cursor:
        cursor.execute("SELECT buyer FROM invoices_invoice WHERE id = %s", [invoice.pk])
        raw = cursor.fetchone()[0]

    assert raw.startswith("e1:")
    assert owner.customer.full_name not in raw
