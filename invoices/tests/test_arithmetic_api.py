"""Property tests through the services and the API: what is stored and shown adds up."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoices import services
from invoices.money import line_amounts
from invoices.tests.helpers import completed_order, seller

pytestmark = pytest.mark.django_db

lines = st.lists(
    st.tuples(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2),  # hours
        st.decimals(min_value=0, max_value=Decimal("9999.999"), places=3),
        st.sampled_from(["19.00", "13.00", "7.00", "0.00"]),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=lines)
def test_issued_invoices_add_up_line_by_line(lines, super_admin, admin_client):
    seller()
    order = completed_order(
        labour=[(hours, price, rate, "approved") for hours, price, rate in lines], parts=[]
    )
    invoice = services.invoice_create(actor=super_admin, service_order=order)
    services.invoice_issue(actor=super_admin, invoice=invoice)

    body = admin_client.get(f"/api/invoices/{invoice.pk}/").json()

    shown = [(Decimal(x["total_ht"]), Decimal(x["tva_amount"])) for x in body["lines"]]
    expected = [
        line_amounts(quantity=hours, unit_price=price, tva_rate=Decimal(rate))
        for hours, price, rate in lines
    ]
    assert shown == [(a.total_ht, a.tva_amount) for a in expected]
    total_ht = sum(ht for ht, _ in shown)
    total_tva = sum(tva for _, tva in shown)
    assert Decimal(body["total_ht"]) == total_ht
    assert Decimal(body["total_tva"]) == total_tva
    assert Decimal(body["total_ttc"]) == total_ht + total_tva + Decimal(body["stamp_duty"])
    assert sum(Decimal(b["base"]) for b in body["tva"]) == total_ht
    assert sum(Decimal(b["amount"]) for b in body["tva"]) == total_tva
    for value in ("total_ht", "total_tva", "stamp_duty", "total_ttc", "balance_due"):
        assert len(body[value].split(".")[1]) == 3


@settings(
    max_examples=20,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payments=st.lists(
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal("80.000"), places=3),
        min_size=1,
        max_size=6,
    )
)
def test_payments_never_exceed_the_total_and_the_balance_always_adds_up(
    payments, super_admin, admin_client
):
    seller()
    invoice = services.invoice_issue(
        actor=super_admin,
        invoice=services.invoice_create(actor=super_admin, service_order=completed_order()),
    )  # 102.150 due
    accepted = Decimal("0.000")
    for amount in payments:
        response = admin_client.post(
            f"/api/invoices/{invoice.pk}/payments/",
            {"method": "cash", "amount": str(amount)},
            format="json",
        )
        if accepted + amount <= invoice.total_ttc:
            assert response.status_code == 201, response.content
            accepted += amount
        else:
            assert response.status_code == 400
            assert response.json()["code"] in {"overpayment", "nothing_due"}

    invoice.refresh_from_db()
    assert invoice.paid_total == accepted
    assert invoice.balance_due == invoice.total_ttc - accepted >= 0
    expected = "paid" if accepted == invoice.total_ttc else "partially_paid"
    assert invoice.status == expected
