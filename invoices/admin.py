"""Admin for invoicing: the seller identity and fiscal rates are edited here; documents only read.

Invoices, credit notes and payments change through the API workflow (drafts, issue, credit
notes), never in the admin: an issued document is a legal record.
"""

from django.contrib import admin

from invoices import models
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
class InvoiceAdmin(ReadOnlyAdminMixin, AccessRecordedAdmin):
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
        "customer",
        "service_order",
    )
    list_filter = ("status",)
    list_select_related = ("customer", "service_order")
    sortable_by = ("id", "number", "status", "issue_date", "total_ttc")
    search_fields = ("number",)
    fields = (
        *DOCUMENT_FIELDS[:3],
        "service_order",
        *DOCUMENT_FIELDS[3:],
        "due_date",
        "notes",
        "paid_total",
        "credited_total",
    )
    readonly_fields = fields
    inlines = [InvoiceLineInline, PaymentInline, EventInline]


class CreditNoteLineInline(ReadOnlyInline):
    model = models.CreditNoteLine
    fields = InvoiceLineInline.fields
    readonly_fields = fields


@admin.register(models.CreditNote)
class CreditNoteAdmin(ReadOnlyAdminMixin, AccessRecordedAdmin):
    access_action = "credit_note.admin_read"

    def subject_user(self, obj):
        return obj.customer.user

    list_display = ("id", "number", "status", "issue_date", "total_ttc", "invoice")
    list_filter = ("status",)
    list_select_related = ("invoice",)
    sortable_by = ("id", "number", "status", "issue_date", "total_ttc")
    search_fields = ("number",)
    fields = (*DOCUMENT_FIELDS[:3], "invoice", "reason", *DOCUMENT_FIELDS[3:])
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
