"""Admin views of privacy records: read-only."""

from django.contrib import admin

from privacy.models import AccessRecord
from privacy.services import access_record_create


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


class AccessRecordedAdmin(admin.ModelAdmin):
    """A change view shows personal data decrypted: each GET of one is an access record."""

    access_action = "admin.read"

    def subject_user(self, obj):
        """The account of the person whose data `obj` holds (None when they have none)."""
        return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                access_record_create(
                    request=request,
                    subject=obj,
                    action=self.access_action,
                    subject_user_id=getattr(self.subject_user(obj), "pk", None),
                )
        return response
