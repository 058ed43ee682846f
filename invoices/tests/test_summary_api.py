"""The monthly summary for the TVA return: per rate, stamp duty, payments by method."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices import services
from invoices.tests.helpers import issued_invoice

pytestmark = pytest.mark.django_db
SUMMARY = "/api/invoices/summary/"
APPROVED = "approved"


def month_of(day: datetime.date) -> str:
    return f"{day:%Y-%m}"


@pytest.fixture
def month_data(super_admin, monkeypatch):
    """Two invoices and a credit note this month, payments by two methods, one older invoice."""
    today = timezone.localdate()
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: last_month)
    issued_invoice(super_admin)  # another month: left out
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: today)
    first = issued_invoice(super_admin)  # 85.000 at 19 %: 16.150 TVA, 102.150 TTC
    second = issued_invoice(
        super_admin,
        labour=[("1.00", "100.000", "7.00", APPROVED)],
        parts=[(1, "10.000", "19.00", APPROVED)],
    )  # 100.000 at 7 % (7.000) + 10.000 at 19 % (1.900): 119.900 TTC
    services.payment_record(actor=super_admin, invoice=first, method="cash", amount=first.total_ttc)
    services.payment_record(
        actor=super_admin, invoice=second, method="card", amount=second.total_ttc - 20
    )
    note = services.credit_note_create(
        actor=super_admin,
        invoice=second,
        reason="Remise",
        lines=[
            {
                "description": "Remise",
                "quantity": Decimal("1"),
                "unit_price": Decimal("10.000"),
                "tva_rate": Decimal("7.00"),
            }
        ],
    )
    services.credit_note_issue(actor=super_admin, credit_note=note)  # 10.000 + 0.700 + 1.000
    return today


def test_the_month_summary_adds_up_invoices_credit_notes_and_payments(admin_client, month_data):
    response = admin_client.get(SUMMARY, {"month": month_of(month_data)})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["invoices"] == {
        "count": 2,
        "total_ht": "195.000",
        "total_tva": "25.050",
        "stamp_duty": "2.000",
        "total_ttc": "222.050",
        "tva": [
            {"rate": "19.00", "base": "95.000", "amount": "18.050"},
            {"rate": "7.00", "base": "100.000", "amount": "7.000"},
        ],
    }
    assert body["credit_notes"]["count"] == 1
    assert body["credit_notes"]["tva"] == [{"rate": "7.00", "base": "10.000", "amount": "0.700"}]
    assert body["net_tva"] == [
        {"rate": "19.00", "base": "95.000", "amount": "18.050"},
        {"rate": "7.00", "base": "90.000", "amount": "6.300"},
    ]
    assert body["net_stamp_duty"] == "1.000"
    assert body["payments"] == [
        {"method": "cash", "count": 1, "total": "102.150"},
        {"method": "card", "count": 1, "total": "99.900"},
        {"method": "cheque", "count": 0, "total": "0.000"},
        {"method": "transfer", "count": 0, "total": "0.000"},
    ]
    assert body["payments_total"] == "202.050"
    assert body["period_start"] == str(month_data.replace(day=1))


def test_the_previous_month_holds_only_its_own_invoice(admin_client, month_data):
    last_month = month_data.replace(day=1) - datetime.timedelta(days=1)

    body = admin_client.get(SUMMARY, {"month": month_of(last_month)}).json()

    assert body["invoices"]["count"] == 1
    assert body["invoices"]["total_ttc"] == "102.150"
    assert body["credit_notes"]["count"] == 0
    assert body["payments_total"] == "0.000"


@pytest.mark.parametrize("query", [{}, {"month": "2026-13"}, {"month": "nov"}, {"month": "2026-1"}])
def test_the_month_is_required_as_yyyy_mm(admin_client, query):
    response = admin_client.get(SUMMARY, query)

    assert response.status_code == 400
    assert "month" in response.json()["errors"]


def test_the_summary_is_for_super_admins_only(api_client, auth_client, owner, technician):
    query = {"month": "2026-11"}

    assert api_client.get(SUMMARY, query).status_code == 401
    assert auth_client(technician).get(SUMMARY, query).status_code == 403
    assert auth_client(owner).get(SUMMARY, query).status_code == 403
