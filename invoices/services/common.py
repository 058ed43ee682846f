"""What the invoicing use cases share: errors, events, line amounts, totals, numbering, parties.

Every use case is one transaction that locks the rows it changes: the invoice (and, while
issuing, the year's number counter) with SELECT … FOR UPDATE. Numbers are taken last, after every
check, from a counter row locked until the transaction ends: a failed issue rolls the counter
back with everything else, so numbers stay gapless.
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import Role
from config.exceptions import ApplicationError
from garage.models import Customer, ServiceOrder
from invoices.models import (
    Document,
    DocumentSequence,
    FiscalRate,
    Invoice,
    InvoiceEvent,
    Line,
    SellerProfile,
)
from invoices.money import ZERO, document_totals, line_amounts

INVOICEABLE_ORDER_STATES = frozenset({ServiceOrder.Status.COMPLETED, ServiceOrder.Status.DELIVERED})
PAYABLE_STATES = frozenset({Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID})
LINE_FIELDS = ("kind", "description", "quantity", "unit_price", "tva_rate")
TOTAL_FIELDS = ["total_ht", "total_tva", "stamp_duty", "total_ttc", "updated_at"]


def invalid(message: str, *, code: str = "invalid", **errors) -> ApplicationError:
    return ApplicationError(message, code=code, extra={k: [v] for k, v in errors.items()})


def require_super_admin(actor) -> None:
    if actor is None or actor.role != Role.SUPER_ADMIN:
        raise ApplicationError(
            "Only a super-admin may change invoices.", code="permission_denied", status_code=403
        )


def require_draft(document: Document, action: str) -> None:
    if not document.is_draft:
        raise invalid(
            f"{document._meta.verbose_name.capitalize()} {document.number} is issued and can no "
            f"longer {action}: correct it with a credit note.",
            code="not_draft",
            status=f"The {document._meta.verbose_name} is {document.status}.",
        )


def record_event(invoice: Invoice, kind: str, actor, **links_and_data) -> InvoiceEvent:
    links = {k: links_and_data.pop(k) for k in ("credit_note", "payment") if k in links_and_data}
    return InvoiceEvent.objects.create(
        invoice=invoice, kind=kind, actor=actor, data=links_and_data, **links
    )


# --- Lines and totals ---------------------------------------------------------------------------


def with_amounts(line: Line) -> Line:
    amounts = line_amounts(
        quantity=line.quantity, unit_price=line.unit_price, tva_rate=line.tva_rate
    )
    line.total_ht, line.tva_amount, line.total_ttc = (
        amounts.total_ht,
        amounts.tva_amount,
        amounts.total_ttc,
    )
    return line


def check_money(values: dict) -> None:
    """Decimals with at most 3 decimals (quantities, prices), 2 for rates; no floats."""
    errors = {}
    for name, places in (("quantity", 3), ("unit_price", 3), ("tva_rate", 2)):
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, Decimal) or not value.is_finite():
            errors[name] = ["A decimal number is required."]
        elif value.as_tuple().exponent < -places:
            errors[name] = [f"At most {places} decimal places."]
        elif value < 0 or (name == "quantity" and value == 0):
            errors[name] = ["Must be greater than zero." if name == "quantity" else "Must be ≥ 0."]
    if errors:
        raise ApplicationError("Invalid line.", code="invalid", extra=errors)


def check_rate_in_force(rate: Decimal, *, on: datetime.date) -> None:
    rates = FiscalRate.tva_rates(on=on)
    if rate.quantize(Decimal("0.01")) not in rates:
        allowed = ", ".join(f"{r}" for r in sorted(rates, reverse=True)) or "none"
        raise invalid(
            "This TVA rate is not in force.",
            code="tva_rate_not_in_force",
            tva_rate=f"TVA rates in force on {on}: {allowed}.",
        )


def stamp_duty_on(on: datetime.date, *, required: bool) -> Decimal:
    amount = FiscalRate.stamp_duty(on=on)
    if amount is None:
        if required:
            raise invalid(
                "No stamp duty is in force for this date: add it to the fiscal rates.",
                code="stamp_duty_missing",
            )
        return ZERO
    return amount


def refresh_totals(document: Document, *, stamp_duty: Decimal) -> Document:
    totals = document_totals(document.lines.all(), stamp_duty=stamp_duty)
    document.total_ht = totals.total_ht
    document.total_tva = totals.total_tva
    document.stamp_duty = totals.stamp_duty
    document.total_ttc = totals.total_ttc
    return document


def save_draft_totals(document: Document) -> Document:
    refresh_totals(document, stamp_duty=stamp_duty_on(timezone.localdate(), required=False))
    document.save(update_fields=TOTAL_FIELDS)
    return document


def lock_invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


# --- Numbering ----------------------------------------------------------------------------------


def next_number(*, kind: str, year: int) -> int:
    """The next number of the year for a kind of document, gapless under concurrency.

    The counter row is created if missing (a conflicting concurrent insert is ignored), then
    locked: concurrent issues queue on it, and it stays locked until the issuing transaction
    commits or rolls back, so a number is either used by a committed document or given again.
    """
    DocumentSequence.objects.bulk_create(
        [DocumentSequence(kind=kind, year=year)], ignore_conflicts=True
    )
    counter = DocumentSequence.objects.select_for_update().get(kind=kind, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def invoice_number(year: int, sequence: int) -> str:
    return f"{year}-{sequence:06d}"


def credit_note_number(year: int, sequence: int) -> str:
    return f"AV-{year}-{sequence:06d}"


# --- Parties ------------------------------------------------------------------------------------


def seller_snapshot() -> dict:
    seller = SellerProfile.current()
    if seller is None or not (seller.legal_name and seller.tax_id and seller.address):
        raise invalid(
            "The seller identity (legal name, address, matricule fiscal) is not configured: "
            "fill it in the admin first.",
            code="seller_not_configured",
        )
    return seller.snapshot()


def buyer_snapshot(customer: Customer) -> dict:
    """The buyer as printed on the invoice: a company by its name and matricule fiscal."""
    is_company = customer.kind == Customer.Kind.COMPANY
    snapshot = {
        "kind": customer.kind,
        "name": (customer.company_name if is_company else "") or customer.full_name,
        "contact": customer.full_name if is_company else "",
        "address": customer.address or "",
        "tax_id": customer.tax_id or "",
        "national_id": customer.national_id or "",
    }
    if is_company and not snapshot["tax_id"]:
        raise invalid(
            "A company's invoice carries its matricule fiscal: add it to the customer record.",
            code="buyer_tax_id_missing",
        )
    return snapshot


def vehicle_snapshot(order: ServiceOrder) -> dict:
    """The vehicle as printed on the invoice, with the odometer reading at the service."""
    vehicle = order.vehicle
    return {
        "make": vehicle.make,
        "model": vehicle.model,
        "plate": vehicle.plate or "",
        "vin": vehicle.vin or "",
        "odometer_km": order.odometer_in,
    }


def settle(invoice: Invoice) -> Invoice:
    """The invoice's status from what was paid and credited."""
    if invoice.credited_total == invoice.total_ttc:
        invoice.status = Invoice.Status.CREDITED
    elif invoice.paid_total + invoice.credited_total == invoice.total_ttc:
        invoice.status = Invoice.Status.PAID
    elif invoice.paid_total > 0:
        invoice.status = Invoice.Status.PARTIALLY_PAID
    else:
        invoice.status = Invoice.Status.ISSUED
    invoice.save(update_fields=["status", "paid_total", "credited_total", "updated_at"])
    return invoice
