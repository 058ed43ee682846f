"""Admin views of the outbox: read-only, and never the decrypted address or message context."""

from django.contrib import admin

from notifications.models import Delivery, Notification

DELIVERY_FIELDS = (
    "attempt",
    "channel",
    "attempted_at",
    "outcome",
    "provider_message_id",
    "error_class",
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "template",
        "language",
        "channel",
        "status",
        "attempts",
        "recipient_ref",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "channel", "template", "language")
    search_fields = ("=recipient_ref", "=dedupe_key")
    date_hierarchy = "created_at"
    # Address and context are left out: the list and the detail show who and what kind, not what.
    fields = (
        "template",
        "language",
        "channel",
        "recipient_ref",
        "dedupe_key",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "finished_at",
    )
    readonly_fields = fields
    inlines = [DeliveryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("address", "context")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "notification_id", *DELIVERY_FIELDS)
    list_filter = ("outcome", "channel")
    date_hierarchy = "attempted_at"
    fields = ("notification_id", *DELIVERY_FIELDS)
    readonly_fields = fields
