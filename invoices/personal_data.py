"""The personal data of the invoicing app: export, erasure and retention (privacy registry).

Issued invoices and credit notes are a legal obligation: they are kept ten years with the buyer
identity the law requires (frozen and encrypted at issue), whatever happens to the customer
record, and only then purged. Drafts are internal work and go with the person.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from invoices.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    Payment,
)
from privacy.erasure import audit_scrub
from privacy.registry import ErasureResult, PersonalDataSource, RetentionRule, registry

RETAINED_REASON = (
    "Issued invoices and credit notes are kept 10 years (Tunisian accounting law) with the "
    "buyer identity printed on them, then purged."
)


def _line(line) -> dict:
    return {
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "tva_rate": line.tva_rate,
        "total_ht": line.total_ht,
        "tva_amount": line.tva_amount,
    }


def _document(document) -> dict:
    return {
        "id": document.pk,
        "number": document.number,
        "status": document.status,
        "issue_date": document.issue_date,
        "buyer": document.buyer,
        "total_ht": document.total_ht,
        "total_tva": document.total_tva,
        "stamp_duty": document.stamp_duty,
        "total_ttc": document.total_ttc,
        "retention_until": document.retention_until,
        "lines": [_line(line) for line in document.lines.all()],
    }


def _invoices_export(user):
    invoices = (
        Invoice.objects.filter(customer__user=user)
        .exclude(status=Invoice.Status.DRAFT)
        .prefetch_related("lines", "payments")
        .order_by("id")
    )
    for invoice in invoices.iterator(chunk_size=200):
        yield {
            **_document(invoice),
            "service_order_id": invoice.service_order_id,
            "vehicle": invoice.vehicle,
            "due_date": invoice.due_date,
            "notes": invoice.notes,
            "paid_total": invoice.paid_total,
            "credited_total": invoice.credited_total,
            "payments": [
                {"paid_on": p.paid_on, "method": p.method, "amount": p.amount}
                for p in invoice.payments.all()
            ],
        }


def _credit_notes_export(user):
    notes = (
        CreditNote.objects.filter(customer__user=user, status=CreditNote.Status.ISSUED)
        .select_related("invoice")
        .prefetch_related("lines")
        .order_by("id")
    )
    for note in notes.iterator(chunk_size=200):
        yield {**_document(note), "invoice_number": note.invoice.number, "reason": note.reason}


def _retained(count: int) -> dict:
    return {"retained": count, "reason": RETAINED_REASON if count else ""}


def _credit_notes_erase(user) -> ErasureResult:
    """Draft credit notes are deleted; issued ones are retained (a legal obligation)."""
    drafts = CreditNote.objects.filter(customer__user=user, status=CreditNote.Status.DRAFT)
    pks = list(drafts.values_list("pk", flat=True))
    drafts.delete()
    audit_scrub(CreditNote, pks)  # after the deletion: its own audit rows are scrubbed too
    kept = CreditNote.objects.filter(customer__user=user, status=CreditNote.Status.ISSUED)
    return ErasureResult(erased=len(pks), **_retained(kept.count()))


def _invoices_erase(user) -> ErasureResult:
    """Draft invoices are deleted; issued ones are retained (a legal obligation)."""
    drafts = Invoice.objects.filter(customer__user=user, status=Invoice.Status.DRAFT)
    pks = list(drafts.values_list("pk", flat=True))
    drafts.delete()
    audit_scrub(Invoice, pks)  # after the deletion: its own audit rows are scrubbed too
    kept = Invoice.objects.filter(customer__user=user).exclude(status=Invoice.Status.DRAFT)
    return ErasureResult(erased=len(pks), **_retained(kept.count()))


def _purge_expired(dry_run: bool) -> int:
    """Delete issued documents whose retention ended (a day of margin for the database's date).

    A credit note is purged with or after the invoice it corrects: an invoice stays while any
    of its issued credit notes is still kept.
    """
    cutoff = timezone.localdate() - timedelta(days=1)
    expired = {"retention_until__lt": cutoff}
    notes = CreditNote.objects.filter(status=CreditNote.Status.ISSUED, **expired)
    still_kept = CreditNote.objects.filter(status=CreditNote.Status.ISSUED).exclude(**expired)
    invoices = (
        Invoice.objects.exclude(status=Invoice.Status.DRAFT)
        .filter(**expired)
        .exclude(credit_notes__in=still_kept)
    )
    if dry_run:
        return notes.count() + invoices.count()
    with transaction.atomic():
        count = notes.count() + invoices.count()
        notes.delete()
        CreditNote.objects.filter(status=CreditNote.Status.DRAFT, invoice__in=invoices).delete()
        invoices.delete()
    return count


registry.register(
    PersonalDataSource(
        name="invoices",
        models=(Invoice, InvoiceLine, Payment, InvoiceEvent),
        export=_invoices_export,
        erase=_invoices_erase,
        order=70,
    )
)
registry.register(
    PersonalDataSource(
        name="credit_notes",
        models=(CreditNote, CreditNoteLine),
        export=_credit_notes_export,
        erase=_credit_notes_erase,
        order=71,
    )
)
registry.register_retention(RetentionRule("invoices", _purge_expired))
