"""Test data for invoicing: completed service orders, the seller identity, invoices by state.

Completed orders are built directly (factories and ORM rows, then the status set with an
UPDATE): the service-order workflow has its own tests, these are about what follows it.
"""

import importlib
from decimal import Decimal

from garage.models import Customer, LabourLine, LineApproval, PartLine, ServiceOrder
from garage.tests.factories import PartFactory, ServiceFactory, VehicleFactory, customer_user
from invoices import services
from invoices.models import FiscalRate, SellerProfile

SELLER = {
    "legal_name": "Garage Essalem SARL",
    "address": "12 avenue de la République, 2000 Le Bardo",
    "tax_id": "7654321/B/A/M/000",
    "trade_register": "B24136672019",
    "bank_name": "Banque Test",
    "bank_account": "08006000123456789012",
    "phone": "+216 71 111 222",
    "email": "compta@essalem.example.tn",
}

# A complete line row (amounts included), for tests that write lines without the services.
LINE = {
    "description": "Ligne",
    "quantity": Decimal("1"),
    "unit_price": Decimal("1.000"),
    "tva_rate": Decimal("19.00"),
    "total_ht": Decimal("1.000"),
    "tva_amount": Decimal("0.190"),
    "total_ttc": Decimal("1.190"),
}

_owners = iter(range(1, 10**6))
_rates = importlib.import_module("invoices.migrations.0002_fiscal_rates")


def fiscal_rates() -> None:
    """The rates the data migration seeds (a transactional test's flush removes them)."""
    for kind, value, label, valid_from in _rates.RATES:
        FiscalRate.objects.get_or_create(
            kind=kind, value=value, valid_from=valid_from, defaults={"label": label}
        )


def seller() -> SellerProfile:
    """The seller identity, with the fiscal rates it invoices at."""
    fiscal_rates()
    return SellerProfile.objects.update_or_create(pk=1, defaults=SELLER)[0]


def owner(username: str | None = None):
    """A customer-role user with a Customer record."""
    return customer_user(username or f"owner{next(_owners)}")


def completed_order(
    customer: Customer | None = None,
    *,
    labour=(("1.50", "40.000", "19.00", LineApproval.APPROVED),),
    parts=((2, "12.500", "19.00", LineApproval.APPROVED),),
    status=ServiceOrder.Status.COMPLETED,
) -> ServiceOrder:
    """A service order with the given lines, brought to `status` directly.

    labour: (hours, unit price, TVA rate, approval); parts: (quantity, unit price, TVA rate,
    approval).
    """
    if customer is None:
        customer = owner().customer
    vehicle = VehicleFactory(customer=customer)
    order = ServiceOrder.objects.create(customer=customer, vehicle=vehicle, complaint="Bruit")
    for hours, price, rate, approval in labour:
        service = ServiceFactory()
        LabourLine.objects.create(
            order=order,
            service=service,
            description=f"Main d'oeuvre {service.name}",
            hours=Decimal(hours),
            unit_price=Decimal(price),
            tva_rate=Decimal(rate),
            approval=approval,
        )
    for quantity, price, rate, approval in parts:
        PartLine.objects.create(
            order=order,
            part=PartFactory(),
            quantity=quantity,
            unit_price=Decimal(price),
            tva_rate=Decimal(rate),
            approval=approval,
        )
    ServiceOrder.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    return order


def draft_invoice(admin, customer: Customer | None = None, **order_kwargs):
    return services.invoice_create(
        actor=admin, service_order=completed_order(customer, **order_kwargs)
    )


def issued_invoice(admin, customer: Customer | None = None, **order_kwargs):
    seller()
    return services.invoice_issue(
        actor=admin, invoice=draft_invoice(admin, customer, **order_kwargs)
    )
