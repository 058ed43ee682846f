"""django-auditlog tracks every invoicing model; encrypted buyer snapshots and notes are masked."""

from auditlog.registry import auditlog

from invoices import models
from privacy.audit import register_personal_model

for model in (models.Invoice, models.CreditNote):
    register_personal_model(model, exclude_fields=["updated_at"])

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
