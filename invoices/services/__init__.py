"""Write use cases of invoicing, one module per document: invoices, payments, credit notes.

Callers use `from invoices import services` and `services.invoice_issue(...)`; the functions
live in the modules below.
"""

from invoices.services.common import buyer_snapshot, credit_note_number, invoice_number
from invoices.services.credit_notes import credit_note_create, credit_note_delete, credit_note_issue
from invoices.services.invoices import (
    invoice_create,
    invoice_delete,
    invoice_issue,
    invoice_line_add,
    invoice_line_delete,
    invoice_line_update,
    invoice_update,
    order_lines_for_invoice,
)
from invoices.services.payments import payment_record

__all__ = [
    "buyer_snapshot",
    "credit_note_create",
    "credit_note_delete",
    "credit_note_issue",
    "credit_note_number",
    "invoice_create",
    "invoice_delete",
    "invoice_issue",
    "invoice_line_add",
    "invoice_line_delete",
    "invoice_line_update",
    "invoice_number",
    "invoice_update",
    "order_lines_for_invoice",
    "payment_record",
]
