"""Demo invoices for `seed_demo`: one per given order, through the real services, in every state."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from garage.models import ServiceOrder
from invoices import services
from invoices.models import Invoice, Payment, SellerProfile

DEMO_SELLER = {
    "legal_name": "ECAR Garage SARL",
    "address": "Zone industrielle Charguia II, 2035 Tunis",
    "tax_id": "1234567/A/A/M/000",
    "trade_register": "B01234562018",
    "bank_name": "Banque de démonstration",
    "bank_account": "01234567890123456789",
    "phone": "+216 71 000 000",
    "email": "factures@ecar.example.tn",
}
# The states cycled through, in order, over the orders given.
STATES = ("draft", "issued", "partially_paid", "paid", "credited")


def _seller() -> SellerProfile:
    seller = SellerProfile.current()
    if seller is None:
        seller = SellerProfile(**DEMO_SELLER)
        seller.full_clean()
        seller.save()
    return seller


def _half(amount: Decimal) -> Decimal:
    return (amount / 2).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


@transaction.atomic
def seed_invoices(*, orders, actor) -> list[Invoice]:
    """An invoice for each completed order not invoiced yet, cycling draft → issued →
    part-paid → paid → credited. A demo seller identity is created if none is configured.
    Running it again skips the orders that already have an invoice."""
    _seller()
    made = []
    for order in orders:
        if order.invoices.exists():
            continue
        state = STATES[len(made) % len(STATES)]
        invoice = services.invoice_create(actor=actor, service_order=order)
        due = timezone.localdate() + datetime.timedelta(days=30)
        invoice = services.invoice_update(actor=actor, invoice=invoice, data={"due_date": due})
        if state != "draft":
            invoice = services.invoice_issue(actor=actor, invoice=invoice)
        if state == "partially_paid":
            services.payment_record(
                actor=actor,
                invoice=invoice,
                method=Payment.Method.CASH,
                amount=_half(invoice.total_ttc),
            )
        elif state == "paid":
            first = _half(invoice.total_ttc)
            services.payment_record(
                actor=actor, invoice=invoice, method=Payment.Method.CARD, amount=first
            )
            services.payment_record(
                actor=actor,
                invoice=invoice,
                method=Payment.Method.TRANSFER,
                amount=invoice.total_ttc - first,
                reference="VIR-DEMO",
            )
        elif state == "credited":
            note = services.credit_note_create(
                actor=actor, invoice=invoice, reason="Annulation de la facture (démonstration)."
            )
            services.credit_note_issue(actor=actor, credit_note=note)
        invoice.refresh_from_db()
        made.append(invoice)
    return made


def seed_invoices_demo(*, admin, technicians, customer_users, rng) -> dict:
    """The seed_demo step: invoices for the demo's completed and delivered service orders."""
    orders = ServiceOrder.objects.filter(
        status__in=[ServiceOrder.Status.COMPLETED, ServiceOrder.Status.DELIVERED]
    ).order_by("id")
    made = seed_invoices(orders=list(orders), actor=admin)
    return {"invoices": len(made), "states": sorted({invoice.status for invoice in made})}
