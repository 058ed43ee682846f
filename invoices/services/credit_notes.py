"""Credit notes (factures d'avoir): the only way to correct or cancel an issued invoice."""

from django.db import transaction
from django.utils import timezone

from invoices.models import (
    CreditNote,
    CreditNoteLine,
    DocumentSequence,
    Invoice,
    InvoiceEvent,
    retention_end,
)
from invoices.money import ZERO, format_tnd, tva_summary
from invoices.services.common import (
    LINE_FIELDS,
    check_money,
    credit_note_number,
    invalid,
    lock_invoice,
    next_number,
    record_event,
    refresh_totals,
    require_draft,
    require_super_admin,
    save_draft_totals,
    seller_snapshot,
    settle,
    stamp_duty_on,
    with_amounts,
)
from invoices.services.einvoicing import teif_check


def _check_creditable(invoice: Invoice, note: CreditNote, note_lines: list) -> None:
    """A credit note never exceeds what remains: the balance due, and per TVA rate the base
    invoiced minus what issued credit notes already took back."""
    if invoice.is_draft:
        raise invalid("A draft invoice is deleted, not credited.", code="not_issued")
    if note.total_ttc > invoice.balance_due:
        raise invalid(
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
            raise invalid(
                "A credit note line must use a TVA rate of the invoice.",
                code="tva_rate_not_on_invoice",
                lines=f"The invoice has no line at {bucket.rate} %.",
            )
        remaining = invoiced[bucket.rate] - credited.get(bucket.rate, ZERO)
        if bucket.base > remaining:
            raise invalid(
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
    require_super_admin(actor)
    invoice = lock_invoice(invoice)
    if invoice.is_draft:
        raise invalid(
            "A draft invoice is edited or deleted, not credited.",
            code="not_issued",
            invoice="The invoice is a draft.",
        )
    if not (reason or "").strip():
        raise invalid("A reason is required.", reason="Say why the invoice is credited.")
    if lines is None:
        if invoice.paid_total or invoice.credited_total:
            raise invalid(
                "Payments or credit notes exist on this invoice: give the lines to credit.",
                code="lines_required",
                lines="Give the lines to credit.",
            )
        lines = [
            {name: getattr(line, name) for name in LINE_FIELDS} for line in invoice.lines.all()
        ]
    if not lines:
        raise invalid("A credit note needs at least one line.", code="empty", lines="No line.")
    for values in lines:
        check_money(values)
    note = CreditNote.objects.create(
        invoice=invoice, customer_id=invoice.customer_id, reason=reason.strip(), created_by=actor
    )
    note_lines = CreditNoteLine.objects.bulk_create(
        [
            with_amounts(CreditNoteLine(credit_note=note, position=i, **values))
            for i, values in enumerate(lines, start=1)
        ]
    )
    save_draft_totals(note)
    _check_creditable(invoice, note, note_lines)
    record_event(invoice, InvoiceEvent.Kind.CREDIT_NOTE_CREATED, actor, credit_note=note)
    return note


@transaction.atomic
def credit_note_delete(*, actor, credit_note: CreditNote) -> None:
    """Delete a draft credit note."""
    require_super_admin(actor)
    note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    require_draft(note, "be deleted")
    note.delete()


@transaction.atomic
def credit_note_issue(*, actor, credit_note: CreditNote) -> CreditNote:
    """Issue a credit note: numbered in its own sequence, applied to the invoice's balance."""
    require_super_admin(actor)
    note = CreditNote.objects.select_for_update().get(pk=credit_note.pk)
    require_draft(note, "be issued again")
    invoice = lock_invoice(note.invoice)
    today = timezone.localdate()
    seller = seller_snapshot()
    note_lines = list(note.lines.all())
    refresh_totals(note, stamp_duty=stamp_duty_on(today, required=True))
    _check_creditable(invoice, note, note_lines)

    sequence = next_number(kind=DocumentSequence.Kind.CREDIT_NOTE, year=today.year)
    note.number = credit_note_number(today.year, sequence)
    note.status = CreditNote.Status.ISSUED
    note.issue_date = today
    note.issued_at = timezone.now()
    note.issued_by = actor
    note.retention_until = retention_end(today)
    note.buyer = invoice.buyer  # the buyer of the invoice it corrects
    note.seller = seller
    teif_check(note)
    note.save()
    invoice.credited_total += note.total_ttc
    settle(invoice)
    record_event(
        invoice,
        InvoiceEvent.Kind.CREDIT_NOTE_ISSUED,
        actor,
        credit_note=note,
        number=note.number,
        total_ttc=str(note.total_ttc),
        balance_due=str(invoice.balance_due),
    )
    return note
