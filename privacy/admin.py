"""Admin views of privacy records: read-only."""

from django.contrib import admin

from privacy.models import AccessRecord


@admin.register(AccessRecord)
class AccessRecordAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "actor", "actor_role", "subject_type", "subject_id")
    list_filter = ("action", "actor_role")
    list_select_related = ("actor", "subject_type")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
