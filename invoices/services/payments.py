"""Payments received against issued invoices."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from invoices.models import Invoice, InvoiceEvent, Payment
from invoices.money import format_tnd
from invoices.services.common import (
    PAYABLE_STATES,
    invalid,
    lock_invoice,
    record_event,
    require_super_admin,
    settle,
)


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
    require_super_admin(actor)
    invoice = lock_invoice(invoice)
    if invoice.status not in PAYABLE_STATES:
        code = "not_issued" if invoice.is_draft else "nothing_due"
        raise invalid(
            "Only an issued invoice with a balance due can be paid.",
            code=code,
            status=f"The invoice is {invoice.status}.",
        )
    if method not in Payment.Method.values:
        raise invalid("Unknown payment method.", method="Choose cash, card, cheque or transfer.")
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount.as_tuple().exponent < -3:
        raise invalid("Invalid amount.", amount="A decimal number with at most 3 decimals.")
    if amount <= 0:
        raise invalid("Invalid amount.", amount="The amount must be greater than zero.")
    balance = invoice.balance_due
    if amount > balance:
        raise invalid(
            "This payment exceeds the balance due.",
            code="overpayment",
            amount=f"The balance due is {format_tnd(balance)} TND.",
        )
    today = timezone.localdate()
    paid_on = paid_on or today
    if paid_on > today or paid_on < invoice.issue_date:
        raise invalid(
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
    settle(invoice)
    record_event(
        invoice,
        InvoiceEvent.Kind.PAYMENT,
        actor,
        payment=payment,
        method=method,
        amount=str(amount),
        balance_due=str(invoice.balance_due),
    )
    return payment
