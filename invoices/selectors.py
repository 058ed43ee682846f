"""Reads of invoices, credit notes and payments, scoped to the caller.

Super-admins see everything. A customer sees the issued invoices and credit notes made out to
their customer record, and the payments on those invoices; drafts are internal work and stay
invisible (404) to them. Technicians see nothing of the money side.
"""

import calendar
import datetime
from collections import defaultdict
from decimal import Decimal

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from rest_framework.exceptions import ValidationError

from accounts.models import Role
from invoices.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment
from invoices.money import ZERO, tva_summary


class InvoiceFilter(django_filters.FilterSet):
    issued_after = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte")
    issued_before = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte")

    class Meta:
        model = Invoice
        fields = ["status", "einvoice_status", "service_order", "customer"]


class CreditNoteFilter(django_filters.FilterSet):
    class Meta:
        model = CreditNote
        fields = ["status", "einvoice_status", "invoice"]


def _filtered(filterset_class, queryset, filters):
    if filters:
        filterset = filterset_class(filters, queryset=queryset)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        queryset = filterset.qs
    return queryset


def _visible_credit_notes(user) -> QuerySet:
    notes = CreditNote.objects.all()
    if user.role != Role.SUPER_ADMIN:
        notes = notes.filter(status=CreditNote.Status.ISSUED)
    return notes


def invoice_list(*, user, filters: dict | None = None) -> QuerySet:
    """The invoices the caller may see (list columns only: no lines)."""
    if user.role == Role.SUPER_ADMIN:
        queryset = Invoice.objects.all()
    elif user.role == Role.CUSTOMER:
        queryset = Invoice.objects.filter(customer__user=user).exclude(status=Invoice.Status.DRAFT)
    else:
        queryset = Invoice.objects.none()
    return _filtered(InvoiceFilter, queryset, filters)


def invoice_get(*, user, pk) -> Invoice:
    """One invoice with its lines, payments and (visible) credit notes; else a 404."""
    invoice = (
        invoice_list(user=user)
        .select_related("customer__user")
        .prefetch_related(
            Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id")),
            Prefetch("payments", queryset=Payment.objects.order_by("paid_on", "id")),
            Prefetch(
                "credit_notes",
                queryset=_visible_credit_notes(user).order_by("created_at", "id"),
            ),
        )
        .filter(pk=pk)
        .first()
    )
    if invoice is None:
        raise Http404
    return invoice


def credit_note_list(*, user, filters: dict | None = None) -> QuerySet:
    """The credit notes the caller may see."""
    if user.role == Role.SUPER_ADMIN:
        queryset = CreditNote.objects.all()
    elif user.role == Role.CUSTOMER:
        queryset = CreditNote.objects.filter(customer__user=user, status=CreditNote.Status.ISSUED)
    else:
        queryset = CreditNote.objects.none()
    return _filtered(CreditNoteFilter, queryset.select_related("invoice"), filters)


def credit_note_get(*, user, pk) -> CreditNote:
    note = (
        credit_note_list(user=user)
        .select_related("customer__user")
        .prefetch_related(
            Prefetch("lines", queryset=CreditNoteLine.objects.order_by("position", "id"))
        )
        .filter(pk=pk)
        .first()
    )
    if note is None:
        raise Http404
    return note


def payment_list(*, user, invoice: Invoice | None = None) -> QuerySet:
    """Payments on the invoices the caller may see."""
    queryset = Payment.objects.filter(invoice__in=invoice_list(user=user)).select_related("invoice")
    if invoice is not None:
        queryset = queryset.filter(invoice=invoice)
    return queryset


def payment_get(*, user, pk) -> Payment:
    payment = payment_list(user=user).filter(pk=pk).first()
    if payment is None:
        raise Http404
    return payment


# --- Monthly TVA summary ------------------------------------------------------------------------


def month_bounds(month: str) -> tuple[datetime.date, datetime.date]:
    """'2026-11' → first and last day of the month."""
    try:
        first = datetime.datetime.strptime(month, "%Y-%m").date()
    except (TypeError, ValueError):
        raise ValidationError({"month": ["Give a month as YYYY-MM."]}) from None
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first, last


def _buckets(lines) -> list[dict]:
    return [{"rate": b.rate, "base": b.base, "amount": b.amount} for b in tva_summary(lines)]


def tva_month_summary(*, month: str) -> dict:
    """What the monthly TVA return needs: invoiced and credited per rate, stamp duty, payments.

    Documents count in the month of their issue date; payments in the month they were received.
    Summed in Python over Decimals, the same way the documents themselves are summed.
    """
    first, last = month_bounds(month)
    period = {"issue_date__gte": first, "issue_date__lte": last}
    invoices = Invoice.objects.exclude(status=Invoice.Status.DRAFT).filter(**period)
    notes = CreditNote.objects.filter(status=CreditNote.Status.ISSUED, **period)

    def documents(queryset) -> dict:
        rows = list(queryset.values_list("total_ht", "total_tva", "stamp_duty", "total_ttc"))
        return {
            "count": len(rows),
            "total_ht": sum((r[0] for r in rows), ZERO),
            "total_tva": sum((r[1] for r in rows), ZERO),
            "stamp_duty": sum((r[2] for r in rows), ZERO),
            "total_ttc": sum((r[3] for r in rows), ZERO),
        }

    invoiced_lines = InvoiceLine.objects.filter(invoice__in=invoices).only(
        "tva_rate", "total_ht", "tva_amount"
    )
    credited_lines = CreditNoteLine.objects.filter(credit_note__in=notes).only(
        "tva_rate", "total_ht", "tva_amount"
    )
    invoiced, credited = _buckets(invoiced_lines), _buckets(credited_lines)
    net: dict[Decimal, dict] = defaultdict(lambda: {"base": ZERO, "amount": ZERO})
    for sign, buckets in ((1, invoiced), (-1, credited)):
        for bucket in buckets:
            net[bucket["rate"]]["base"] += sign * bucket["base"]
            net[bucket["rate"]]["amount"] += sign * bucket["amount"]
    by_method: dict[str, Decimal] = {method: ZERO for method in Payment.Method.values}
    counts: dict[str, int] = dict.fromkeys(Payment.Method.values, 0)
    for method, amount in Payment.objects.filter(paid_on__gte=first, paid_on__lte=last).values_list(
        "method", "amount"
    ):
        by_method[method] += amount
        counts[method] += 1
    invoice_totals, note_totals = documents(invoices), documents(notes)
    return {
        "month": f"{first:%Y-%m}",
        "period_start": first,
        "period_end": last,
        "invoices": {**invoice_totals, "tva": invoiced},
        "credit_notes": {**note_totals, "tva": credited},
        "net_tva": [{"rate": rate, **values} for rate, values in sorted(net.items(), reverse=True)],
        "net_stamp_duty": invoice_totals["stamp_duty"] - note_totals["stamp_duty"],
        "payments": [
            {"method": method, "count": counts[method], "total": by_method[method]}
            for method in Payment.Method.values
        ],
        "payments_total": sum(by_method.values(), ZERO),
    }
