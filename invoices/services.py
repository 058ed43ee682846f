"""Write use cases of invoicing: drafts, issue, payments and credit notes.

Every function is one transaction that locks the rows it changes: the invoice (and, while
issuing, the year's number counter) with SELECT … FOR UPDATE. Numbers are taken last, after every
check, from a counter row locked until the transaction ends: a failed issue rolls the counter
back with everything else, so numbers stay gapless.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from config.exceptions import ApplicationError
from garage.models import Customer, LineApproval, ServiceOrder
from invoices.models import (
    CreditNote,
    CreditNoteLine,
    Document,
    DocumentSequence,
    FiscalRate,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    Line,
    Payment,
    SellerProfile,
    retention_end,
)
from invoices.money import ZERO, document_totals, format_tnd, line_amounts, tva_summary

INVOICEABLE_ORDER_STATES = frozenset({ServiceOrder.Status.COMPLETED, ServiceOrder.Status.DELIVERED})
PAYABLE_STATES = frozenset({Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID})
LINE_FIELDS = ("kind", "description", "quantity", "unit_price", "tva_rate")
TOTAL_FIELDS = ["total_ht", "total_tva", "stamp_duty", "total_ttc", "updated_at"]


def _invalid(message: str, *, code: str = "invalid", **errors) -> ApplicationError:
    return ApplicationError(message, code=code, extra={k: [v] for k, v in errors.items()})


def _require_super_admin(actor) -> None:
    if actor is None or actor.role != Role.SUPER_ADMIN:
        raise ApplicationError(
            "Only a super-admin may change invoices.", code="permission_denied", status_code=403
        )


def _require_draft(document: Document, action: str) -> None:
    if not document.is_draft:
        raise _invalid(
            f"{document._meta.verbose_name.capitalize()} {document.number} is issued and can no "
            f"longer {action}: correct it with a credit note.",
            code="not_draft",
            status=f"The {document._meta.verbose_name} is {document.status}.",
        )


def _event(invoice: Invoice, kind: str, actor, **links_and_data) -> InvoiceEvent:
    links = {k: links_and_data.pop(k) for k in ("credit_note", "payment") if k in links_and_data}
    return InvoiceEvent.objects.create(
        invoice=invoice, kind=kind, actor=actor, data=links_and_data, **links
    )


# --- Lines and totals ---------------------------------------------------------------------------


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


def _with_amounts(line: Line) -> Line:
    amounts = line_amounts(
        quantity=line.quantity, unit_price=line.unit_price, tva_rate=line.tva_rate
    )
    line.total_ht, line.tva_amount, line.total_ttc = (
        amounts.total_ht,
        amounts.tva_amount,
        amounts.total_ttc,
    )
    return line


def _check_money(values: dict) -> None:
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


def _check_rate_in_force(rate: Decimal, *, on: datetime.date) -> None:
    rates = FiscalRate.tva_rates(on=on)
    if rate.quantize(Decimal("0.01")) not in rates:
        allowed = ", ".join(f"{r}" for r in sorted(rates, reverse=True)) or "none"
        raise _invalid(
            "This TVA rate is not in force.",
            code="tva_rate_not_in_force",
            tva_rate=f"TVA rates in force on {on}: {allowed}.",
        )


def _stamp_duty(on: datetime.date, *, required: bool) -> Decimal:
    amount = FiscalRate.stamp_duty(on=on)
    if amount is None:
        if required:
            raise _invalid(
                "No stamp duty is in force for this date: add it to the fiscal rates.",
                code="stamp_duty_missing",
            )
        return ZERO
    return amount


def _refresh_totals(document: Document, *, stamp_duty: Decimal) -> Document:
    totals = document_totals(document.lines.all(), stamp_duty=stamp_duty)
    document.total_ht = totals.total_ht
    document.total_tva = totals.total_tva
    document.stamp_duty = totals.stamp_duty
    document.total_ttc = totals.total_ttc
    return document


def _save_draft_totals(document: Document) -> Document:
    _refresh_totals(document, stamp_duty=_stamp_duty(timezone.localdate(), required=False))
    document.save(update_fields=TOTAL_FIELDS)
    return document


def _lock_invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


# --- Numbering ----------------------------------------------------------------------------------


def _next_number(*, kind: str, year: int) -> int:
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


def _seller_snapshot() -> dict:
    seller = SellerProfile.current()
    if seller is None or not (seller.legal_name and seller.tax_id and seller.address):
        raise _invalid(
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
        raise _invalid(
            "A company's invoice carries its matricule fiscal: add it to the customer record.",
            code="buyer_tax_id_missing",
        )
    return snapshot


def _settle(invoice: Invoice) -> Invoice:
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


# --- Invoices -----------------------------------------------------------------------------------


@transaction.atomic
def invoice_create(*, actor, service_order: ServiceOrder) -> Invoice:
    """A draft invoice from a completed service order, with its approved lines copied."""
    _require_super_admin(actor)
    order = ServiceOrder.objects.select_for_update().get(pk=service_order.pk)
    if order.status not in INVOICEABLE_ORDER_STATES:
        raise _invalid(
            "Only a completed or delivered service order can be invoiced.",
            code="order_not_completed",
            service_order=f"The service order is {order.status}.",
        )
    existing = order.invoices.exclude(status=Invoice.Status.CREDITED).first()
    if existing is not None:
        raise _invalid(
            "This service order already has an invoice.",
            code="already_invoiced",
            service_order=f"Invoice {existing.number or f'draft {existing.pk}'} exists.",
        )
    lines = order_lines_for_invoice(order)
    if not lines:
        raise _invalid(
            "This service order has no approved line to invoice.",
            code="nothing_to_invoice",
            service_order="No approved line.",
        )
    invoice = Invoice.objects.create(customer=order.customer, service_order=order, created_by=actor)
    InvoiceLine.objects.bulk_create(
        [
            _with_amounts(InvoiceLine(invoice=invoice, position=i, **values))
            for i, values in enumerate(lines, start=1)
        ]
    )
    _save_draft_totals(invoice)
    _event(invoice, InvoiceEvent.Kind.CREATED, actor, service_order=order.pk)
    return invoice


@transaction.atomic
def invoice_update(*, actor, invoice: Invoice, data: dict) -> Invoice:
    """Change the header of a draft: due date and notes."""
    _require_super_admin(actor)
    invoice = _lock_invoice(invoice)
    _require_draft(invoice, "be edited")
    fields = [name for name in ("due_date", "notes") if name in data]
    for name in fields:
        setattr(invoice, name, data[name])
    if invoice.due_date is not None and invoice.due_date < timezone.localdate():
        raise _invalid("The due date is in the past.", due_date="Give today or a later date.")
    invoice.save(update_fields=[*fields, "updated_at"])
    return invoice


@transaction.atomic
def invoice_delete(*, actor, invoice: Invoice) -> None:
    """Delete a draft (an issued invoice is only ever cancelled by a credit note)."""
    _require_super_admin(actor)
    invoice = _lock_invoice(invoice)
    _require_draft(invoice, "be deleted")
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
    _require_super_admin(actor)
    invoice = _lock_invoice(invoice)
    _require_draft(invoice, "change its lines")
    values = {"quantity": quantity, "unit_price": unit_price, "tva_rate": tva_rate}
    _check_money(values)
    _check_rate_in_force(tva_rate, on=timezone.localdate())
    last = invoice.lines.order_by("-position").values_list("position", flat=True).first() or 0
    line = _with_amounts(
        InvoiceLine(
            invoice=invoice, position=last + 1, kind=kind, description=description, **values
        )
    )
    line.save()
    _save_draft_totals(invoice)
    return line


@transaction.atomic
def invoice_line_update(*, actor, invoice: Invoice, line: InvoiceLine, data: dict) -> InvoiceLine:
    """Change a line of a draft."""
    _require_super_admin(actor)
    invoice = _lock_invoice(invoice)
    _require_draft(invoice, "change its lines")
    line = InvoiceLine.objects.get(pk=line.pk, invoice=invoice)
    changes = {name: data[name] for name in LINE_FIELDS if name in data}
    _check_money(changes)
    if "tva_rate" in changes:
        _check_rate_in_force(changes["tva_rate"], on=timezone.localdate())
    for name, value in changes.items():
        setattr(line, name, value)
    _with_amounts(line).save()
    _save_draft_totals(invoice)
    return line


@transaction.atomic
def invoice_line_delete(*, actor, invoice: Invoice, line: InvoiceLine) -> None:
    """Remove a line from a draft."""
    _require_super_admin(actor)
    invoice = _lock_invoice(invoice)
    _require_draft(invoice, "change its lines")
    InvoiceLine.objects.get(pk=line.pk, invoice=invoice).delete()
    _save_draft_totals(invoice)


@transaction.atomic
def invoice_issue(*, actor, invoice: Invoice) -> Invoice:
    """Issue a draft: rates and stamp duty of the day, parties frozen, the next number given."""
    _require_super_admin(actor)
    invoice = _lock_invoice(invoice)
    _require_draft(invoice, "be issued again")
    lines = list(invoice.lines.all())
    if not lines:
        raise _invalid("An invoice needs at least one line.", code="empty", lines="No line.")
    today = timezone.localdate()
    rates = FiscalRate.tva_rates(on=today)
    stale = sorted({line.tva_rate for line in lines if line.tva_rate not in rates})
    if stale:
        raise _invalid(
            "Some lines carry a TVA rate that is not in force today: change them first.",
            code="tva_rate_not_in_force",
            lines=f"Rates not in force: {', '.join(str(rate) for rate in stale)}.",
        )
    seller = _seller_snapshot()
    buyer = buyer_snapshot(Customer.objects.get(pk=invoice.customer_id))
    _refresh_totals(invoice, stamp_duty=_stamp_duty(today, required=True))

    sequence = _next_number(kind=DocumentSequence.Kind.INVOICE, year=today.year)
    invoice.number = invoice_number(today.year, sequence)
    invoice.status = Invoice.Status.ISSUED
    invoice.issue_date = today
    invoice.issued_at = timezone.now()
    invoice.issued_by = actor
    invoice.retention_until = retention_end(today)
    invoice.buyer = buyer
    invoice.seller = seller
    invoice.save()
    _event(
        invoice,
        InvoiceEvent.Kind.ISSUED,
        actor,
        number=invoice.number,
        total_ttc=str(invoice.total_ttc),
    )
    return invoice


# --- Payments -----------------------------------------------------------------------------------


@transaction.atomic
def payment_record(
    *,
    actor,
    invoice: Invoice,
    method: str,
    amount: Decimal,
    paid_on: datetime.date | None = None,
    reference: str = "",
) -> Payment:
    """Record money received; never more than the balance due."""
    _require_super_admin(actor)
    invoice = _lock_invoice(invoice)
    if invoice.status not in PAYABLE_STATES:
        code = "not_issued" if invoice.is_draft else "nothing_due"
        raise _invalid(
            "Only an issued invoice with a balance due can be paid.",
            code=code,
            status=f"The invoice is {invoice.status}.",
        )
    if method not in Payment.Method.values:
        raise _invalid("Unknown payment method.", method="Choose cash, card, cheque or transfer.")
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount.as_tuple().exponent < -3:
        raise _invalid("Invalid amount.", amount="A decimal number with at most 3 decimals.")
    if amount <= 0:
        raise _invalid("Invalid amount.", amount="The amount must be greater than zero.")
    balance = invoice.balance_due
    if amount > balance:
        raise _invalid(
            "This payment exceeds the balance due.",
            code="overpayment",
            amount=f"The balance due is {format_tnd(balance)} TND.",
        )
    today = timezone.localdate()
    paid_on = paid_on or today
    if paid_on > today or paid_on < invoice.issue_date:
        raise _invalid(
            "Invalid payment date.",
            paid_on=f"Between the issue date ({invoice.issue_date}) and today.",
        )
    payment = Payment.objects.create(
        invoice=invoice,
        method=method,
        amount=amount,
        paid_on=paid_on,
        reference=reference.strip(),
        recorded_by=actor,
    )
    invoice.paid_total += amount
    _settle(invoice)
    _event(
        invoice,
        InvoiceEvent.Kind.PAYMENT,
        actor,
        payment=payment,
        method=method,
        amount=str(amount),
        balance_due=str(invoice.balance_due),
    )
    return payment


# --- Credit notes -------------------------------------------------------------------------------


def _check_creditable(invoice: Invoice, note: CreditNote, note_lines: list) -> None:
    """A credit note never exceeds what remains: the balance due, and per TVA rate the base
    invoiced minus what issued credit notes already took back."""
    if invoice.is_draft:
        raise _invalid("A draft invoice is deleted, not credited.", code="not_issued")
    if note.total_ttc > invoice.balance_due:
        raise _invalid(
            "This credit note exceeds what remains due on the invoice.",
            code="credit_exceeds_balance",
            lines=(
                f"Credit note total {format_tnd(note.total_ttc)} TND (stamp duty included), "
                f"balance due {format_tnd(invoice.balance_due)} TND."
            ),
        )
    invoiced = {b.rate: b.base for b in tva_summary(invoice.lines.all())}
    issued_lines = CreditNoteLine.objects.filter(
        credit_note__invoice=invoice, credit_note__status=CreditNote.Status.ISSUED
    )
    credited = {b.rate: b.base for b in tva_summary(issued_lines)}
    for bucket in tva_summary(note_lines):
        if bucket.rate not in invoiced:
            raise _invalid(
                "A credit note line must use a TVA rate of the invoice.",
                code="tva_rate_not_on_invoice",
                lines=f"The invoice has no line at {bucket.rate} %.",
            )
        remaining = invoiced[bucket.rate] - credited.get(bucket.rate, ZERO)
        if bucket.base > remaining:
            raise _invalid(
                "This credit note exceeds what remains to credit at this TVA rate.",
                code="credit_exceeds_invoice",
                lines=f"At {bucket.rate} %: {format_tnd(remaining)} TND excluding tax remain.",
            )


@transaction.atomic
def credit_note_create(
    *, actor, invoice: Invoice, reason: str, lines: list[dict] | None = None
) -> CreditNote:
    """A draft credit note for an issued invoice: given lines, or (none given) every line.

    Crediting every line cancels an invoice nothing was paid or credited on yet; once payments
    or credit notes exist, the lines to credit must be given.
    """
    _require_super_admin(actor)
    invoice = _lock_invoice(invoice)
    if invoice.is_draft:
        raise _invalid(
            "A draft invoice is edited or deleted, not credited.",
            code="not_issued",
            invoice="The invoice is a draft.",
        )
    if not (reason or "").strip():
        raise _invalid("A reason is required.", reason="Say why the invoice is credited.")
    if lines is None:
        if invoice.paid_total or invoice.credited_total:
            raise _invalid(
                "Payments or credit notes exist on this invoice: give the lines to credit.",
                code="lines_required",
                lines="Give the lines to credit.",
            )
        lines = [
            {name: getattr(line, name) for name in LINE_FIELDS} for line in invoice.lines.all()
        ]
    if not lines:
        raise _invalid("A credit note needs at least one line.", code="empty", lines="No line.")
    for values in lines:
        _check_money(values)
    note = CreditNote.objects.create(
        invoice=invoice, customer_id=invoice.customer_id, reason=reason.strip(), created_by=actor
    )
    note_lines = CreditNoteLine.objects.bulk_create(
        [
            _with_amounts(CreditNoteLine(credit_note=note, position=i, **values))
            for i, values in enumerate(lines, start=1)
        ]
    )
    _save_draft_totals(note)
    _check_creditable(invoice, note, note_lines)
    _event(invoice, InvoiceEvent.Kind.CREDIT_NOTE_CREATED, actor, credit_note=note)
    return note


@transaction.atomic
def credit_note_delete(*, actor, credit_note: CreditNote) -> None:
    """Delete a draft credit note."""
    _require_super_admin(actor)
    note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    _require_draft(note, "be deleted")
    note.delete()


@transaction.atomic
def credit_note_issue(*, actor, credit_note: CreditNote) -> CreditNote:
    """Issue a credit note: numbered in its own sequence, applied to the invoice's balance."""
    _require_super_admin(actor)
    note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    _require_draft(note, "be issued again")
    invoice = _lock_invoice(note.invoice)
    today = timezone.localdate()
    seller = _seller_snapshot()
    note_lines = list(note.lines.all())
    _refresh_totals(note, stamp_duty=_stamp_duty(today, required=True))
    _check_creditable(invoice, note, note_lines)

    sequence = _next_number(kind=DocumentSequence.Kind.CREDIT_NOTE, year=today.year)
    note.number = credit_note_number(today.year, sequence)
    note.status = CreditNote.Status.ISSUED
    note.issue_date = today
    note.issued_at = timezone.now()
    note.issued_by = actor
    note.retention_until = retention_end(today)
    note.buyer = invoice.buyer  # the buyer of the invoice it corrects
    note.seller = seller
    note.save()
    invoice.credited_total += note.total_ttc
    _settle(invoice)
    _event(
        invoice,
        InvoiceEvent.Kind.CREDIT_NOTE_ISSUED,
        actor,
        credit_note=note,
        number=note.number,
        total_ttc=str(note.total_ttc),
        balance_due=str(invoice.balance_due),
    )
    return note
