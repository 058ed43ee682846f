"""Payments: recorded by super-admins, never more than the balance due, read by the customer."""

import datetime
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoices.models import Invoice, InvoiceEvent, Payment
from invoices.tests.helpers import draft_invoice, issued_invoice

pytestmark = pytest.mark.django_db


def pay_url(invoice) -> str:
    return f"/api/invoices/{invoice.pk}/payments/"


@pytest.fixture
def invoice(super_admin, owner):
    return issued_invoice(super_admin, owner.customer)  # 102.150 TND


def test_a_part_payment_then_the_rest_settle_the_invoice(admin_client, super_admin, invoice):
    first = admin_client.post(
        pay_url(invoice),
        {"method": "cheque", "amount": "50.000", "reference": "CHQ 0012345"},
        format="json",
    )

    assert first.status_code == 201, first.content
    assert first.json()["amount"] == "50.000"
    assert first.json()["paid_on"] == str(timezone.localdate())
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance_due) == ("partially_paid", Decimal("52.150"))

    rest = admin_client.post(pay_url(invoice), {"method": "card", "amount": "52.15"}, format="json")

    assert rest.status_code == 201
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_total, invoice.balance_due) == (
        "paid",
        Decimal("102.150"),
        Decimal("0.000"),
    )
    events = InvoiceEvent.objects.filter(invoice=invoice, kind="payment").order_by("id")
    assert [(e.actor, e.data["amount"], e.data["balance_due"]) for e in events] == [
        (super_admin, "50.000", "52.150"),
        (super_admin, "52.150", "0.000"),
    ]
    payment = Payment.objects.get(pk=first.json()["id"])
    entry = LogEntry.objects.get_for_object(payment).get(action=LogEntry.Action.CREATE)
    assert entry.actor == super_admin


def test_an_overpayment_is_refused(admin_client, invoice):
    response = admin_client.post(
        pay_url(invoice), {"method": "cash", "amount": "102.151"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "overpayment"
    assert "102,150" in response.json()["errors"]["amount"][0]
    assert not Payment.objects.exists()
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_total) == ("issued", Decimal("0.000"))


def test_a_paid_invoice_takes_no_more_payment(admin_client, invoice):
    admin_client.post(pay_url(invoice), {"method": "cash", "amount": "102.150"}, format="json")

    response = admin_client.post(pay_url(invoice), {"method": "cash", "amount": "1"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "nothing_due"


def test_a_draft_cannot_be_paid(admin_client, super_admin):
    draft = draft_invoice(super_admin)

    response = admin_client.post(pay_url(draft), {"method": "cash", "amount": "1"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "not_issued"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"method": "cash", "amount": "0"}, "amount"),
        ({"method": "cash", "amount": "-5"}, "amount"),
        ({"method": "cash", "amount": "1.0001"}, "amount"),
        ({"method": "cash", "amount": "abc"}, "amount"),
        ({"method": "cash"}, "amount"),
        ({"method": "bitcoin", "amount": "1"}, "method"),
        ({"amount": "1"}, "method"),
        ({"method": "cash", "amount": "1", "paid_on": "2099-01-01"}, "paid_on"),
        ({"method": "cash", "amount": "1", "paid_on": "2001-01-01"}, "paid_on"),
    ],
)
def test_invalid_payments_are_refused_with_field_errors(admin_client, invoice, payload, field):
    response = admin_client.post(pay_url(invoice), payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Payment.objects.exists()


def test_only_super_admins_record_payments(api_client, auth_client, owner, technician, invoice):
    payload = {"method": "cash", "amount": "1"}

    assert api_client.post(pay_url(invoice), payload, format="json").status_code == 401
    assert auth_client(technician).post(pay_url(invoice), payload, format="json").status_code == 403
    assert auth_client(owner).post(pay_url(invoice), payload, format="json").status_code == 403
    assert not Payment.objects.exists()


def test_a_customer_reads_the_payments_of_their_invoice_only(
    auth_client, owner, other_owner, super_admin, admin_client, invoice
):
    admin_client.post(pay_url(invoice), {"method": "cash", "amount": "10"}, format="json")
    others = issued_invoice(super_admin, other_owner.customer)
    admin_client.post(pay_url(others), {"method": "card", "amount": "20"}, format="json")
    client = auth_client(owner)

    own = client.get(pay_url(invoice))
    listed = client.get("/api/payments/")

    assert own.status_code == 200
    assert [(p["method"], p["amount"]) for p in own.json()] == [("cash", "10.000")]
    assert [p["invoice"] for p in listed.json()["results"]] == [invoice.pk]
    assert client.get(pay_url(others)).status_code == 404
    other_payment = Payment.objects.get(invoice=others)
    assert client.get(f"/api/payments/{other_payment.pk}/").status_code == 404


def test_payments_are_hidden_from_technicians_and_anonymous_callers(
    api_client, auth_client, technician, invoice
):
    assert api_client.get("/api/payments/").status_code == 401
    assert auth_client(technician).get("/api/payments/").status_code == 403
    assert auth_client(technician).get(pay_url(invoice)).status_code == 403


def test_the_payment_list_costs_the_same_queries_for_1_and_20_payments(admin_client, super_admin):
    invoice = issued_invoice(super_admin)
    admin_client.post(pay_url(invoice), {"method": "cash", "amount": "1"}, format="json")
    with CaptureQueriesContext(connection) as one:
        admin_client.get("/api/payments/")
    for _ in range(19):
        admin_client.post(pay_url(invoice), {"method": "cash", "amount": "1"}, format="json")
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get("/api/payments/")

    assert response.json()["count"] == 20
    assert len(many) == len(one)


def test_balance_due_is_total_minus_payments_minus_credit_notes(admin_client, invoice):
    admin_client.post(pay_url(invoice), {"method": "transfer", "amount": "40"}, format="json")
    credit = admin_client.post(
        "/api/credit-notes/",
        {
            "invoice": invoice.pk,
            "reason": "Remise commerciale",
            "lines": [
                {"description": "Remise", "quantity": "1", "unit_price": "10", "tva_rate": "19"}
            ],
        },
        format="json",
    )
    admin_client.post(f"/api/credit-notes/{credit.json()['id']}/issue/")

    body = admin_client.get(f"/api/invoices/{invoice.pk}/").json()

    total, paid, credited = (
        Decimal(body[k]) for k in ("total_ttc", "paid_total", "credited_total")
    )
    assert credited == Decimal("12.900")  # 10.000 + 1.900 TVA + 1.000 stamp duty
    assert Decimal(body["balance_due"]) == total - paid - credited == Decimal("49.250")
    assert body["status"] == "partially_paid"
    assert Invoice.objects.get(pk=invoice.pk).balance_due == Decimal("49.250")


def test_a_payment_dated_before_today_is_accepted_from_the_issue_date(admin_client, invoice):
    response = admin_client.post(
        pay_url(invoice),
        {"method": "cash", "amount": "5", "paid_on": str(invoice.issue_date)},
        format="json",
    )
    yesterday = invoice.issue_date - datetime.timedelta(days=1)
    before_issue = admin_client.post(
        pay_url(invoice),
        {"method": "cash", "amount": "5", "paid_on": str(yesterday)},
        format="json",
    )

    assert response.status_code == 201
    assert before_issue.status_code == 400
