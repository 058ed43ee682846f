"""Invoicing API: invoices, their lines, issue, payments, PDFs, credit notes, monthly summary,
El Fatoora (TEIF) files and their status."""

import logging

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from config.exceptions import ApplicationError
from config.routers import IdRouter
from garage.models import ServiceOrder
from invoices import selectors, services
from invoices.models import CreditNote, Invoice, Payment
from invoices.pdf import credit_note_pdf, invoice_pdf
from invoices.permissions import READERS, WRITERS, RolesByAction
from invoices.serializers import (
    CreditNoteCreateInputSerializer,
    CreditNoteListOutputSerializer,
    CreditNoteOutputSerializer,
    EInvoiceAnswerInputSerializer,
    InvoiceCreateInputSerializer,
    InvoiceDetailOutputSerializer,
    InvoiceListOutputSerializer,
    InvoiceUpdateInputSerializer,
    LineInputSerializer,
    LineOutputSerializer,
    MonthInputSerializer,
    MonthSummaryOutputSerializer,
    PaymentInputSerializer,
    PaymentOutputSerializer,
    PeriodInputSerializer,
)
from invoices.services import einvoicing
from privacy.services import access_record_create

logger = logging.getLogger(__name__)
NOT_ISSUED = OpenApiResponse(description="Refused by a business rule (see `code`).")
MOVED = OpenApiResponse(description="The document, with its new e-invoicing status.")


def _record_read(request, document, action: str) -> None:
    """Staff reading the buyer identity of an issued document leave an access record."""
    if request.user.is_super_admin and document.buyer is not None:
        access_record_create(
            request=request,
            subject=document,
            action=action,
            subject_user_id=document.customer.user_id,
        )


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def _xml_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


EINVOICE_ROLES = {
    "teif": WRITERS,
    "teif_export": WRITERS,
    "teif_submitted": WRITERS,
    "teif_answer": WRITERS,
}


class EInvoiceActionsMixin:
    """El Fatoora actions of an issued invoice or credit note (super-admins only)."""

    def _einvoice_document(self, request, pk):
        raise NotImplementedError

    @extend_schema(
        responses={(200, "application/xml"): OpenApiTypes.BINARY, 400: NOT_ISSUED, 503: NOT_ISSUED},
        description="The signed TEIF 1.8.8 file (El Fatoora): the one exported or returned by "
        "TTN, else signed now. Needs TEIF_ENABLED and the signing certificate.",
    )
    @action(detail=True, methods=["get"], url_path="teif")
    def teif(self, request, pk=None):
        document = self._einvoice_document(request, pk)
        if document.is_draft:
            raise ApplicationError(
                "A draft is not an e-invoice: issue it first.",
                code="not_issued",
                extra={"status": ["The document is a draft."]},
            )
        content = einvoicing.teif_signed(document)
        _record_read(request, document, f"{document._meta.model_name}.teif")
        return _xml_response(content, f"TEIF_{document.number}.xml")

    @extend_schema(
        request=None,
        responses={200: MOVED, 400: NOT_ISSUED, 503: NOT_ISSUED},
        description="Sign the TEIF file and put it in the outbox for upload on El Fatoora "
        "(not sent or rejected → exported).",
    )
    @action(detail=True, methods=["post"], url_path="teif/export")
    def teif_export(self, request, pk=None):
        document = einvoicing.einvoice_export(
            actor=request.user, document=self._einvoice_document(request, pk)
        )
        return self._detail(request, document)

    @extend_schema(
        request=None,
        responses={200: MOVED, 400: NOT_ISSUED},
        description="The exported file was uploaded to El Fatoora (exported → submitted).",
    )
    @action(detail=True, methods=["post"], url_path="teif/submitted")
    def teif_submitted(self, request, pk=None):
        document = einvoicing.einvoice_mark_submitted(
            actor=request.user, document=self._einvoice_document(request, pk)
        )
        return self._detail(request, document)

    @extend_schema(
        request={
            "application/json": EInvoiceAnswerInputSerializer,
            "multipart/form-data": EInvoiceAnswerInputSerializer,
        },
        responses={
            200: MOVED,
            400: NOT_ISSUED,
            413: OpenApiResponse(
                description="The returned file is larger than "
                f"{einvoicing.TTN_FILE_MAX_BYTES // (1024 * 1024)} MB: code file_too_large."
            ),
        },
        description="TTN's answer (submitted → accepted or rejected): `accepted` with "
        "`reference` and `qr_payload`, or the signed `file` TTN returned; else `reason`.",
    )
    @action(detail=True, methods=["post"], url_path="teif/answer")
    def teif_answer(self, request, pk=None):
        document = self._einvoice_document(request, pk)
        data = EInvoiceAnswerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answer = data.validated_data
        document = einvoicing.einvoice_record_answer(
            actor=request.user,
            document=document,
            accepted=answer["accepted"],
            reference=answer["reference"],
            qr_payload=answer["qr_payload"],
            returned_file=answer.get("file"),
            reason=answer["reason"],
        )
        return self._detail(request, document)


class InvoiceViewSet(EInvoiceActionsMixin, RolesByAction, viewsets.GenericViewSet):
    """Invoices. Super-admins: all, and every change; customers: their own issued invoices.

    A draft is made from a completed service order and stays editable (header and lines) and
    deletable until it is issued. Issuing numbers it (`2026-000123`, gapless per year), freezes
    the buyer and seller identities and makes it immutable: it is then corrected or cancelled
    only by a credit note, and settled by payments.
    """

    allowed_roles = READERS
    roles_by_action = {
        "list": READERS,
        "retrieve": READERS,
        "pdf": READERS,
        "payments": READERS,
        "create": WRITERS,
        "partial_update": WRITERS,
        "destroy": WRITERS,
        "line_create": WRITERS,
        "line_update": WRITERS,
        "line_delete": WRITERS,
        "issue": WRITERS,
        "payment_create": WRITERS,
        "summary": WRITERS,
        "teif_bulk": WRITERS,
        **EINVOICE_ROLES,
    }
    serializer_class = InvoiceDetailOutputSerializer
    filterset_class = selectors.InvoiceFilter
    ordering_fields = ["created_at", "issue_date", "number", "total_ttc"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Invoice.objects.none()
        return selectors.invoice_list(user=self.request.user)

    def _einvoice_document(self, request, pk):
        return selectors.invoice_get(user=request.user, pk=pk)

    def _detail(self, request, invoice: Invoice, *, status_code=status.HTTP_200_OK) -> Response:
        invoice = selectors.invoice_get(user=request.user, pk=invoice.pk)
        _record_read(request, invoice, "invoice.read")
        return Response(InvoiceDetailOutputSerializer(invoice).data, status=status_code)

    @extend_schema(responses=InvoiceListOutputSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(InvoiceListOutputSerializer(page, many=True).data)

    @extend_schema(responses=InvoiceDetailOutputSerializer)
    def retrieve(self, request, pk=None):
        return self._detail(request, selectors.invoice_get(user=request.user, pk=pk))

    @extend_schema(
        request=InvoiceCreateInputSerializer,
        responses={201: InvoiceDetailOutputSerializer, 400: NOT_ISSUED},
        description="Draft an invoice from a completed (or delivered) service order: its "
        "approved lines are copied.",
    )
    def create(self, request):
        data = InvoiceCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = ServiceOrder.objects.filter(pk=data.validated_data["service_order"]).first()
        if order is None:
            raise ApplicationError(
                "No such service order.",
                code="not_found",
                extra={"service_order": ["No such service order."]},
            )
        invoice = services.invoice_create(actor=request.user, service_order=order)
        return self._detail(request, invoice, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        request=InvoiceUpdateInputSerializer,
        responses={200: InvoiceDetailOutputSerializer, 400: NOT_ISSUED},
        description="Change the due date or notes of a draft. Issued invoices are refused.",
    )
    def partial_update(self, request, pk=None):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        data = InvoiceUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = services.invoice_update(
            actor=request.user, invoice=invoice, data=data.validated_data
        )
        return self._detail(request, invoice)

    @extend_schema(responses={204: None, 400: NOT_ISSUED})
    def destroy(self, request, pk=None):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        services.invoice_delete(actor=request.user, invoice=invoice)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=LineInputSerializer,
        responses={201: LineOutputSerializer, 400: NOT_ISSUED},
        description="Add a line to a draft (TVA rate: one in force today).",
    )
    @action(detail=True, methods=["post"], url_path="lines")
    def line_create(self, request, pk=None):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        data = LineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = services.invoice_line_add(actor=request.user, invoice=invoice, **data.validated_data)
        return Response(LineOutputSerializer(line).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=LineInputSerializer(partial=True),
        responses={200: LineOutputSerializer, 400: NOT_ISSUED},
        parameters=[OpenApiParameter("line_pk", int, OpenApiParameter.PATH)],
        description="Change a line of a draft.",
    )
    @action(detail=True, methods=["patch"], url_path=r"lines/(?P<line_pk>[0-9]+)")
    def line_update(self, request, pk=None, line_pk=None):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        line = get_object_or_404(invoice.lines.all(), pk=line_pk)
        data = LineInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        line = services.invoice_line_update(
            actor=request.user, invoice=invoice, line=line, data=data.validated_data
        )
        return Response(LineOutputSerializer(line).data)

    @extend_schema(
        responses={204: None, 400: NOT_ISSUED},
        parameters=[OpenApiParameter("line_pk", int, OpenApiParameter.PATH)],
    )
    @line_update.mapping.delete
    def line_delete(self, request, pk=None, line_pk=None):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        line = get_object_or_404(invoice.lines.all(), pk=line_pk)
        services.invoice_line_delete(actor=request.user, invoice=invoice, line=line)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: InvoiceDetailOutputSerializer, 400: NOT_ISSUED},
        description="Issue a draft: number, date, stamp duty and the buyer and seller "
        "identities are fixed; the invoice can no longer change.",
    )
    @action(detail=True, methods=["post"])
    def issue(self, request, pk=None):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        invoice = services.invoice_issue(actor=request.user, invoice=invoice)
        return self._detail(request, invoice)

    @extend_schema(responses=PaymentOutputSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def payments(self, request, pk=None):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        return Response(PaymentOutputSerializer(invoice.payments.all(), many=True).data)

    @extend_schema(
        request=PaymentInputSerializer,
        responses={201: PaymentOutputSerializer, 400: NOT_ISSUED},
        description="Record a payment (cash, card, cheque, transfer). More than the balance due "
        "is refused with code `overpayment`.",
    )
    @payments.mapping.post
    def payment_create(self, request, pk=None):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        data = PaymentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = services.payment_record(
            actor=request.user, invoice=invoice, **data.validated_data
        )
        return Response(PaymentOutputSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            400: NOT_ISSUED,
        },
        description="The PDF of an issued invoice, in French, with every legal mention.",
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        invoice = selectors.invoice_get(user=request.user, pk=pk)
        if invoice.is_draft:
            raise ApplicationError(
                "A draft has no PDF: issue it first.",
                code="not_issued",
                extra={"status": ["The invoice is a draft."]},
            )
        content = invoice_pdf(invoice)
        _record_read(request, invoice, "invoice.pdf")
        return _pdf_response(content, f"facture-{invoice.number}.pdf")

    @extend_schema(
        parameters=[
            OpenApiParameter("month", str, required=True, description="The month, YYYY-MM.")
        ],
        responses=MonthSummaryOutputSerializer,
        description="For the monthly TVA return: invoices and credit notes issued in the month "
        "(totals per TVA rate, stamp duty) and payments received in it, by method.",
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def summary(self, request):
        data = MonthInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        summary = selectors.tva_month_summary(month=data.validated_data["month"])
        return Response(MonthSummaryOutputSerializer(summary).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE, required=True),
            OpenApiParameter("end", OpenApiTypes.DATE, required=True),
        ],
        responses={(200, "application/zip"): OpenApiTypes.BINARY, 503: NOT_ISSUED},
        description="For the accountant: a zip, streamed, of the signed TEIF files of every "
        "invoice and credit note issued in the period (at most a year), with `index.csv`. A "
        "document that cannot be valid TEIF has no file: its `teif_problem` column says why.",
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="teif-export",
        pagination_class=None,
        filterset_class=None,
    )
    def teif_bulk(self, request):
        data = PeriodInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        start, end = data.validated_data["start"], data.validated_data["end"]
        einvoicing.signing_identity()  # a missing certificate is a 503 before streaming starts
        response = StreamingHttpResponse(
            einvoicing.teif_export_stream(start=start, end=end, request=request),
            content_type="application/zip",
        )
        response["Content-Disposition"] = f'attachment; filename="teif-{start}-{end}.zip"'
        response["Cache-Control"] = "no-store"
        logger.info("TEIF export of %s to %s by user %s", start, end, request.user.pk)
        return response


class CreditNoteViewSet(EInvoiceActionsMixin, RolesByAction, viewsets.GenericViewSet):
    """Credit notes (factures d'avoir). Super-admins: all; customers: their own issued ones.

    Drafted for an issued invoice (given lines, or every line to cancel it), then issued: numbered
    in their own sequence (`AV-2026-000001`), with their own stamp duty, never for more than
    remains due on the invoice.
    """

    allowed_roles = READERS
    roles_by_action = {
        "list": READERS,
        "retrieve": READERS,
        "pdf": READERS,
        "create": WRITERS,
        "destroy": WRITERS,
        "issue": WRITERS,
        **EINVOICE_ROLES,
    }
    serializer_class = CreditNoteOutputSerializer
    filterset_class = selectors.CreditNoteFilter
    ordering_fields = ["created_at", "issue_date", "number"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CreditNote.objects.none()
        return selectors.credit_note_list(user=self.request.user)

    def _einvoice_document(self, request, pk):
        return selectors.credit_note_get(user=request.user, pk=pk)

    def _detail(self, request, note: CreditNote, *, status_code=status.HTTP_200_OK) -> Response:
        note = selectors.credit_note_get(user=request.user, pk=note.pk)
        _record_read(request, note, "credit_note.read")
        return Response(CreditNoteOutputSerializer(note).data, status=status_code)

    @extend_schema(responses=CreditNoteListOutputSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CreditNoteListOutputSerializer(page, many=True).data)

    @extend_schema(responses=CreditNoteOutputSerializer)
    def retrieve(self, request, pk=None):
        return self._detail(request, selectors.credit_note_get(user=request.user, pk=pk))

    @extend_schema(
        request=CreditNoteCreateInputSerializer,
        responses={201: CreditNoteOutputSerializer, 400: NOT_ISSUED},
    )
    def create(self, request):
        data = CreditNoteCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = Invoice.objects.filter(pk=data.validated_data["invoice"]).first()
        if invoice is None:
            raise ApplicationError(
                "No such invoice.", code="not_found", extra={"invoice": ["No such invoice."]}
            )
        note = services.credit_note_create(
            actor=request.user,
            invoice=invoice,
            reason=data.validated_data["reason"],
            lines=data.validated_data.get("lines"),
        )
        return self._detail(request, note, status_code=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, 400: NOT_ISSUED})
    def destroy(self, request, pk=None):
        note = selectors.credit_note_get(user=request.user, pk=pk)
        services.credit_note_delete(actor=request.user, credit_note=note)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: CreditNoteOutputSerializer, 400: NOT_ISSUED})
    @action(detail=True, methods=["post"])
    def issue(self, request, pk=None):
        note = selectors.credit_note_get(user=request.user, pk=pk)
        note = services.credit_note_issue(actor=request.user, credit_note=note)
        return self._detail(request, note)

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, 400: NOT_ISSUED},
        description="The PDF of an issued credit note.",
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        note = selectors.credit_note_get(user=request.user, pk=pk)
        if note.is_draft:
            raise ApplicationError(
                "A draft has no PDF: issue it first.",
                code="not_issued",
                extra={"status": ["The credit note is a draft."]},
            )
        content = credit_note_pdf(note)
        _record_read(request, note, "credit_note.pdf")
        return _pdf_response(content, f"avoir-{note.number}.pdf")


class PaymentViewSet(RolesByAction, viewsets.GenericViewSet):
    """Payments received. Super-admins: all; customers: those on their own invoices."""

    allowed_roles = READERS
    roles_by_action = {"list": READERS, "retrieve": READERS}
    serializer_class = PaymentOutputSerializer
    filterset_fields = ["invoice", "method"]
    ordering_fields = ["paid_on", "created_at", "amount"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Payment.objects.none()
        return selectors.payment_list(user=self.request.user)

    @extend_schema(responses=PaymentOutputSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PaymentOutputSerializer(page, many=True).data)

    @extend_schema(responses=PaymentOutputSerializer)
    def retrieve(self, request, pk=None):
        payment = selectors.payment_get(user=request.user, pk=pk)
        return Response(PaymentOutputSerializer(payment).data)


router = IdRouter()
router.register("invoices", InvoiceViewSet, basename="invoice")
router.register("credit-notes", CreditNoteViewSet, basename="credit-note")
router.register("payments", PaymentViewSet, basename="payment")

urlpatterns = router.urls
