"""Invoices: drafts from service orders, their lines, and issue."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from garage.models import Customer, LineApproval, ServiceOrder
from invoices.models import (
    DocumentSequence,
    FiscalRate,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    Line,
    retention_end,
)
from invoices.services.common import (
    INVOICEABLE_ORDER_STATES,
    LINE_FIELDS,
    buyer_snapshot,
    check_money,
    check_rate_in_force,
    invalid,
    invoice_number,
    lock_invoice,
    next_number,
    record_event,
    refresh_totals,
    require_draft,
    require_super_admin,
    save_draft_totals,
    seller_snapshot,
    stamp_duty_on,
    vehicle_snapshot,
    with_amounts,
)
from invoices.services.einvoicing import teif_check


def order_lines_for_invoice(order: ServiceOrder) -> list[dict]:
    """The lines of a service order that go on its invoice.

    Approved lines only; declined lines never. An order whose lines were never decided one by
    one (every line still pending: e.g. work agreed at the counter before the app recorded
    approvals) is invoiced with its pending lines. As soon as any line was approved or declined,
    pending ones are left out: the customer did not agree to them.
    """
    labour = list(order.labour_lines.select_related("service"))
    parts = list(order.part_lines.select_related("part"))
    decided = any(line.approval != LineApproval.PENDING for line in (*labour, *parts))
    keep = LineApproval.APPROVED if decided else LineApproval.PENDING
    lines = [
        {
            "kind": Line.Kind.LABOUR,
            "description": line.description or line.service.name,
            "quantity": line.hours,
            "unit_price": line.unit_price,
            "tva_rate": line.tva_rate,
        }
        for line in labour
        if line.approval == keep
    ]
    lines += [
        {
            "kind": Line.Kind.PART,
            "description": f"{line.part.name} ({line.part.sku})",
            "quantity": Decimal(line.quantity),
            "unit_price": line.unit_price,
            "tva_rate": line.tva_rate,
        }
        for line in parts
        if line.approval == keep
    ]
    return lines


@transaction.atomic
def invoice_create(*, actor, service_order: ServiceOrder) -> Invoice:
    """A draft invoice from a completed service order, with its approved lines copied."""
    require_super_admin(actor)
    order = ServiceOrder.objects.select_for_update().get(pk=service_order.pk)
    if order.status not in INVOICEABLE_ORDER_STATES:
        raise invalid(
            "Only a completed or delivered service order can be invoiced.",
            code="order_not_completed",
            service_order=f"The service order is {order.status}.",
        )
    existing = order.invoices.exclude(status=Invoice.Status.CREDITED).first()
    if existing is not None:
        raise invalid(
            "This service order already has an invoice.",
            code="already_invoiced",
            service_order=f"Invoice {existing.number or f'draft {existing.pk}'} exists.",
        )
    lines = order_lines_for_invoice(order)
    if not lines:
        raise invalid(
            "This service order has no approved line to invoice.",
            code="nothing_to_invoice",
            service_order="No approved line.",
        )
    invoice = Invoice.objects.create(customer=order.customer, service_order=order, created_by=actor)
    InvoiceLine.objects.bulk_create(
        [
            with_amounts(InvoiceLine(invoice=invoice, position=i, **values))
            for i, values in enumerate(lines, start=1)
        ]
    )
    save_draft_totals(invoice)
    record_event(invoice, InvoiceEvent.Kind.CREATED, actor, service_order=order.pk)
    return invoice


@transaction.atomic
def invoice_update(*, actor, invoice: Invoice, data: dict) -> Invoice:
    """Change the header of a draft: due date and notes."""
    require_super_admin(actor)
    invoice = lock_invoice(invoice)
    require_draft(invoice, "be edited")
    fields = [name for name in ("due_date", "notes") if name in data]
    for name in fields:
        setattr(invoice, name, data[name])
    if invoice.due_date is not None and invoice.due_date < timezone.localdate():
        raise invalid("The due date is in the past.", due_date="Give today or a later date.")
    invoice.save(update_fields=[*fields, "updated_at"])
    return invoice


@transaction.atomic
def invoice_delete(*, actor, invoice: Invoice) -> None:
    """Delete a draft (an issued invoice is only ever cancelled by a credit note)."""
    require_super_admin(actor)
    invoice = lock_invoice(invoice)
    require_draft(invoice, "be deleted")
    invoice.delete()


@transaction.atomic
def invoice_line_add(
    *,
    actor,
    invoice: Invoice,
    description: str,
    quantity: Decimal,
    unit_price: Decimal,
    tva_rate: Decimal,
    kind: str = Line.Kind.OTHER,
) -> InvoiceLine:
    """Add a line to a draft; its TVA rate must be one in force today."""
    require_super_admin(actor)
    invoice = lock_invoice(invoice)
    require_draft(invoice, "change its lines")
    values = {"quantity": quantity, "unit_price": unit_price, "tva_rate": tva_rate}
    check_money(values)
    check_rate_in_force(tva_rate, on=timezone.localdate())
    last = invoice.lines.order_by("-position").values_list("position", flat=True).first() or 0
    line = with_amounts(
        InvoiceLine(
            invoice=invoice, position=last + 1, kind=kind, description=description, **values
        )
    )
    line.save()
    save_draft_totals(invoice)
    return line


@transaction.atomic
def invoice_line_update(*, actor, invoice: Invoice, line: InvoiceLine, data: dict) -> InvoiceLine:
    """Change a line of a draft."""
    require_super_admin(actor)
    invoice = lock_invoice(invoice)
    require_draft(invoice, "change its lines")
    line = InvoiceLine.objects.get(pk=line.pk, invoice=invoice)
    changes = {name: data[name] for name in LINE_FIELDS if name in data}
    check_money(changes)
    if "tva_rate" in changes:
        check_rate_in_force(changes["tva_rate"], on=timezone.localdate())
    for name, value in changes.items():
        setattr(line, name, value)
    with_amounts(line).save()
    save_draft_totals(invoice)
    return line


@transaction.atomic
def invoice_line_delete(*, actor, invoice: Invoice, line: InvoiceLine) -> None:
    """Remove a line from a draft."""
    require_super_admin(actor)
    invoice = lock_invoice(invoice)
    require_draft(invoice, "change its lines")
    InvoiceLine.objects.get(pk=line.pk, invoice=invoice).delete()
    save_draft_totals(invoice)


@transaction.atomic
def invoice_issue(*, actor, invoice: Invoice) -> Invoice:
    """Issue a draft: rates and stamp duty of the day, parties frozen, the next number given."""
    require_super_admin(actor)
    invoice = lock_invoice(invoice)
    require_draft(invoice, "be issued again")
    lines = list(invoice.lines.all())
    if not lines:
        raise invalid("An invoice needs at least one line.", code="empty", lines="No line.")
    today = timezone.localdate()
    rates = FiscalRate.tva_rates(on=today)
    stale = sorted({line.tva_rate for line in lines if line.tva_rate not in rates})
    if stale:
        raise invalid(
            "Some lines carry a TVA rate that is not in force today: change them first.",
            code="tva_rate_not_in_force",
            lines=f"Rates not in force: {', '.join(str(rate) for rate in stale)}.",
        )
    seller = seller_snapshot()
    buyer = buyer_snapshot(Customer.objects.get(pk=invoice.customer_id))
    refresh_totals(invoice, stamp_duty=stamp_duty_on(today, required=True))

    sequence = next_number(kind=DocumentSequence.Kind.INVOICE, year=today.year)
    invoice.number = invoice_number(today.year, sequence)
    invoice.status = Invoice.Status.ISSUED
    invoice.issue_date = today
    invoice.issued_at = timezone.now()
    invoice.issued_by = actor
    invoice.retention_until = retention_end(today)
    invoice.buyer = buyer
    invoice.seller = seller
    invoice.vehicle = vehicle_snapshot(
        ServiceOrder.objects.select_related("vehicle").get(pk=invoice.service_order_id)
    )
    teif_check(invoice)  # refused here, the number goes back with the rollback
    invoice.save()
    record_event(
        invoice,
        InvoiceEvent.Kind.ISSUED,
        actor,
        number=invoice.number,
        total_ttc=str(invoice.total_ttc),
    )
    return invoice
