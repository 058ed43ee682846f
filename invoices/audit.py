"""django-auditlog tracks every invoicing model; encrypted buyer snapshots and notes are masked.

The signed TEIF file is left out (large, and encrypted); TTN's QR content and rejection reason
are masked like personal data: they may repeat the buyer's identity.
"""

from auditlog.registry import auditlog

from invoices import models
from privacy.audit import register_personal_model

for model in (models.Invoice, models.CreditNote):
    register_personal_model(
        model,
        exclude_fields=["updated_at", "teif_xml"],
        mask_fields=["ttn_qr_payload", "ttn_rejection_reason"],
    )

for model in (
    models.FiscalRate,
    models.DocumentSequence,
    models.InvoiceLine,
    models.CreditNoteLine,
    models.Payment,
    models.InvoiceEvent,
):
    auditlog.register(model)

auditlog.register(models.SellerProfile, exclude_fields=["updated_at"])
