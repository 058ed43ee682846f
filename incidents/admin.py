"""Admin views of alerts, incidents and the audit seals (seals and events are read-only)."""

from django.contrib import admin

from incidents.models import (
    BlockedNetwork,
    Incident,
    IncidentEvent,
    SealEvent,
    SealHead,
    SecurityAlert,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SecurityAlert)
class SecurityAlertAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "detector", "severity", "status", "occurrences", "incident")
    list_filter = ("status", "severity", "detector")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SecurityAlert._meta.fields]


class IncidentEventInline(admin.TabularInline):
    model = IncidentEvent
    fields = ("created_at", "kind", "actor", "details")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ("reference", "created_at", "severity", "status")
    list_filter = ("status", "severity")
    readonly_fields = [f.name for f in Incident._meta.fields]
    inlines = [IncidentEventInline]


@admin.register(BlockedNetwork)
class BlockedNetworkAdmin(ReadOnlyAdmin):
    list_display = ("network", "expires_at", "incident", "created_by", "created_at")
    readonly_fields = [f.name for f in BlockedNetwork._meta.fields]


@admin.register(SealHead)
class SealHeadAdmin(ReadOnlyAdmin):
    list_display = ("stream", "first_seq", "next_seq", "sealed_until")
    readonly_fields = [f.name for f in SealHead._meta.fields]


@admin.register(SealEvent)
class SealEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "stream", "count", "actor")
    list_filter = ("kind", "stream")
    readonly_fields = [f.name for f in SealEvent._meta.fields]
