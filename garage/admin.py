"""Admin for the garage (super-admins, behind TOTP): decrypted values, no sorting on ciphertext."""

from django import forms
from django.contrib import admin

from garage import models
from privacy.admin import AccessRecordedAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class VehicleInline(ReadOnlyInline):
    model = models.Vehicle
    fields = ("plate", "make", "model", "year")
    show_change_link = True


@admin.register(models.Customer)
class CustomerAdmin(AccessRecordedAdmin):
    access_action = "customer.admin_read"

    def subject_user(self, obj):
        return obj.user

    list_display = ("id", "full_name", "kind", "preferred_contact", "created_at")
    list_filter = ("kind", "preferred_contact")
    sortable_by = ("id", "kind", "preferred_contact", "created_at")
    raw_id_fields = ("user",)
    fields = (
        "kind",
        "user",
        "full_name",
        "company_name",
        "tax_id",
        "national_id",
        "phone",
        "phone_secondary",
        "email",
        "address",
        "preferred_contact",
    )
    inlines = [VehicleInline]


class OdometerInline(ReadOnlyInline):
    model = models.OdometerReading
    fields = ("km", "recorded_on", "source", "recorded_by")


class VehicleForm(forms.ModelForm):
    """One vehicle per plate and per VIN: EncryptedModel.validate_unique checks the indexes."""

    class Meta:
        model = models.Vehicle
        fields = (
            "customer",
            "plate",
            "vin",
            "make",
            "model",
            "year",
            "fuel",
            "colour",
            "next_service_date",
            "next_service_km",
        )

    def clean_vin(self):
        return (self.cleaned_data.get("vin") or "").strip().upper() or None


@admin.register(models.Vehicle)
class VehicleAdmin(AccessRecordedAdmin):
    access_action = "vehicle.admin_read"

    def subject_user(self, obj):
        return obj.customer.user

    form = VehicleForm
    list_display = ("id", "plate", "make", "model", "year", "fuel", "customer")
    list_filter = ("fuel", "make")
    list_select_related = ("customer",)
    sortable_by = ("id", "make", "model", "year", "fuel")
    raw_id_fields = ("customer",)
    inlines = [OdometerInline]


@admin.register(models.VehicleDocument)
class VehicleDocumentAdmin(admin.ModelAdmin):
    """Documents are downloaded through the API (which records the access), not here."""

    list_display = ("id", "vehicle", "kind", "uploaded_by", "uploaded_at")
    list_select_related = ("vehicle", "uploaded_by")
    readonly_fields = ("vehicle", "kind", "file", "uploaded_by", "uploaded_at")

    def has_add_permission(self, request):
        return False


@admin.register(models.Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "labour_price", "estimated_minutes", "tva_rate", "is_active")
    list_filter = ("is_active", "tva_rate")
    search_fields = ("code", "name")


class StockMovementInline(ReadOnlyInline):
    model = models.StockMovement
    fields = ("created_at", "kind", "quantity", "stock_after", "reason", "actor", "service_order")


@admin.register(models.Part)
class PartAdmin(admin.ModelAdmin):
    """Stock is read-only here: it changes only through recorded movements (API)."""

    list_display = ("sku", "name", "unit_price", "stock", "reorder_level", "is_active")
    list_filter = ("is_active",)
    search_fields = ("sku", "name")
    readonly_fields = ("stock",)
    inlines = [StockMovementInline]


@admin.register(models.Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("id", "slot", "status", "customer", "vehicle", "created_at")
    list_filter = ("status",)
    list_select_related = ("slot", "customer", "vehicle")
    sortable_by = ("id", "slot", "status", "created_at")
    raw_id_fields = ("customer", "vehicle", "slot")
    readonly_fields = ("status",)


class LabourLineInline(admin.TabularInline):
    model = models.LabourLine
    extra = 0
    fields = ("service", "description", "hours", "unit_price", "tva_rate", "approval")
    raw_id_fields = ("service",)


class PartLineInline(admin.TabularInline):
    model = models.PartLine
    extra = 0
    fields = ("part", "quantity", "unit_price", "tva_rate", "approval", "consumed")
    readonly_fields = ("consumed",)
    raw_id_fields = ("part",)


@admin.register(models.ServiceOrder)
class ServiceOrderAdmin(admin.ModelAdmin):
    """Status changes go through the API workflow; the admin shows and corrects details."""

    list_display = ("id", "status", "vehicle", "customer", "created_at", "completed_at")
    list_filter = ("status",)
    list_select_related = ("vehicle", "customer")
    sortable_by = ("id", "status", "created_at", "completed_at")
    raw_id_fields = ("customer", "vehicle", "appointment")
    filter_horizontal = ("technicians",)
    readonly_fields = (
        "status",
        "approval_method",
        "approved_at",
        "approved_ip",
        "approved_by",
        "completed_at",
        "delivered_at",
    )
    inlines = [LabourLineInline, PartLineInline]
