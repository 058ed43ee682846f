"""Admin for invoicing: the seller identity and fiscal rates are edited here; documents only read.

Invoices, credit notes and payments change through the API workflow (drafts, issue, credit
notes), never in the admin: an issued document is a legal record.
"""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from config.exceptions import ApplicationError
from invoices import models
from invoices.services import einvoicing
from privacy.admin import AccessRecordedAdmin


class ReadOnlyAdminMixin:
    """View-only, for everyone including superusers."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0


@admin.register(models.SellerProfile)
class SellerProfileAdmin(admin.ModelAdmin):
    """The one seller identity printed on every invoice issued from now on."""

    list_display = ("legal_name", "tax_id", "trade_register", "updated_at")
    fields = (
        "legal_name",
        "address",
        "tax_id",
        "trade_register",
        "bank_name",
        "bank_account",
        "phone",
        "email",
    )

    def has_add_permission(self, request):
        return not models.SellerProfile.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.FiscalRate)
class FiscalRateAdmin(admin.ModelAdmin):
    """TVA rates and stamp duty with their dates: a change of law is a new row."""

    list_display = ("kind", "value", "label", "valid_from", "valid_until")
    list_filter = ("kind",)


class InvoiceLineInline(ReadOnlyInline):
    model = models.InvoiceLine
    fields = (
        "position",
        "kind",
        "description",
        "quantity",
        "unit_price",
        "tva_rate",
        "total_ht",
        "tva_amount",
        "total_ttc",
    )
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = models.Payment
    fields = ("paid_on", "method", "amount", "reference", "recorded_by")
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = models.InvoiceEvent
    fk_name = "invoice"
    fields = ("created_at", "kind", "actor", "data")
    readonly_fields = fields


class TtnAnswerForm(forms.Form):
    accepted = forms.BooleanField(required=False, help_text="Ticked: accepted; else rejected.")
    reference = forms.CharField(required=False, max_length=70, label="TTN reference")
    qr_payload = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea, label="QR code content"
    )
    file = forms.FileField(
        required=False,
        label="Signed file returned by TTN",
        help_text=f"At most {einvoicing.TTN_FILE_MAX_BYTES // (1024 * 1024)} MB.",
    )
    reason = forms.CharField(required=False, max_length=1000, label="Rejection reason")


class EInvoiceAdminMixin:
    """El Fatoora actions: export to the outbox, mark submitted, record TTN's answer."""

    actions = ["einvoice_export", "einvoice_mark_submitted", "einvoice_record_answer"]

    def _each(self, request, queryset, step):
        for document in queryset:
            try:
                step(actor=request.user, document=document)
            except ApplicationError as exc:
                self.message_user(request, f"{document}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{document}: done.", messages.SUCCESS)

    @admin.action(description="El Fatoora: sign and export to the outbox")
    def einvoice_export(self, request, queryset):
        self._each(request, queryset, einvoicing.einvoice_export)

    @admin.action(description="El Fatoora: mark as submitted (uploaded on the portal)")
    def einvoice_mark_submitted(self, request, queryset):
        self._each(request, queryset, einvoicing.einvoice_mark_submitted)

    @admin.action(description="El Fatoora: record TTN's answer (one document)")
    def einvoice_record_answer(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one document.", messages.ERROR)
            return None
        document = queryset.get()
        form = TtnAnswerForm(request.POST or None, request.FILES or None)
        if "confirm" in request.POST and form.is_valid():
            answer = form.cleaned_data
            try:
                einvoicing.einvoice_record_answer(
                    actor=request.user,
                    document=document,
                    accepted=answer["accepted"],
                    reference=answer["reference"],
                    qr_payload=answer["qr_payload"],
                    returned_file=answer["file"],
                    reason=answer["reason"],
                )
            except ApplicationError as exc:
                self.message_user(request, f"{document}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{document}: answer recorded.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "document": document,
            "form": TtnAnswerForm() if "confirm" not in request.POST else form,
            "action": "einvoice_record_answer",
        }
        return TemplateResponse(request, "admin/invoices/ttn_answer.html", context)


EINVOICE_ADMIN_FIELDS = (
    "einvoice_status",
    "einvoice_updated_at",
    "ttn_reference",
    "ttn_qr_payload",
    "ttn_rejection_reason",
)

DOCUMENT_FIELDS = (
    "number",
    "status",
    "customer",
    "issue_date",
    "issued_at",
    "issued_by",
    "retention_until",
    "buyer",
    "seller",
    "total_ht",
    "total_tva",
    "stamp_duty",
    "total_ttc",
    "created_by",
    "created_at",
)


@admin.register(models.Invoice)
class InvoiceAdmin(EInvoiceAdminMixin, ReadOnlyAdminMixin, AccessRecordedAdmin):
    access_action = "invoice.admin_read"

    def subject_user(self, obj):
        return obj.customer.user

    list_display = (
        "id",
        "number",
        "status",
        "issue_date",
        "total_ttc",
        "balance_due",
        "einvoice_status",
        "customer",
        "service_order",
    )
    list_filter = ("status", "einvoice_status")
    list_select_related = ("customer", "service_order")
    sortable_by = ("id", "number", "status", "issue_date", "total_ttc")
    search_fields = ("number",)
    fields = (
        *DOCUMENT_FIELDS[:3],
        "service_order",
        *DOCUMENT_FIELDS[3:],
        "due_date",
        "notes",
        "vehicle",
        "paid_total",
        "credited_total",
        *EINVOICE_ADMIN_FIELDS,
    )
    readonly_fields = fields
    inlines = [InvoiceLineInline, PaymentInline, EventInline]


class CreditNoteLineInline(ReadOnlyInline):
    model = models.CreditNoteLine
    fields = InvoiceLineInline.fields
    readonly_fields = fields


@admin.register(models.CreditNote)
class CreditNoteAdmin(EInvoiceAdminMixin, ReadOnlyAdminMixin, AccessRecordedAdmin):
    access_action = "credit_note.admin_read"

    def subject_user(self, obj):
        return obj.customer.user

    list_display = (
        "id",
        "number",
        "status",
        "issue_date",
        "total_ttc",
        "einvoice_status",
        "invoice",
    )
    list_filter = ("status", "einvoice_status")
    list_select_related = ("invoice",)
    sortable_by = ("id", "number", "status", "issue_date", "total_ttc")
    search_fields = ("number",)
    fields = (
        *DOCUMENT_FIELDS[:3],
        "invoice",
        "reason",
        *DOCUMENT_FIELDS[3:],
        *EINVOICE_ADMIN_FIELDS,
    )
    readonly_fields = fields
    inlines = [CreditNoteLineInline]


@admin.register(models.Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "invoice", "paid_on", "method", "amount", "recorded_by")
    list_filter = ("method",)
    list_select_related = ("invoice", "recorded_by")


@admin.register(models.DocumentSequence)
class DocumentSequenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("kind", "year", "last_number")
