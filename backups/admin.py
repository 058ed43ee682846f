"""The backup history in the admin, read-only, with what needs attention on top."""

from django.contrib import admin, messages

from backups.models import BackupRun
from backups.services import backup_status


@admin.register(BackupRun)
class BackupRunAdmin(admin.ModelAdmin):
    list_display = (
        "finished_at",
        "kind",
        "status",
        "name",
        "size_mib",
        "offsite",
        "rpo_hours",
        "rto_seconds",
    )
    list_filter = ("kind", "status", "offsite")
    fields = (
        "kind",
        "status",
        "name",
        "started_at",
        "finished_at",
        "size_bytes",
        "offsite",
        "rpo_seconds",
        "rto_seconds",
        "checksum",
        "report_file",
        "detail",
    )
    readonly_fields = fields

    @admin.display(description="size (MiB)")
    def size_mib(self, run):
        return None if run.size_bytes is None else round(run.size_bytes / 2**20, 1)

    @admin.display(description="RPO (h)")
    def rpo_hours(self, run):
        return None if run.rpo_seconds is None else round(run.rpo_seconds / 3600, 1)

    def changelist_view(self, request, extra_context=None):
        for problem in backup_status()["problems"]:
            self.message_user(request, f"Backups: {problem}.", level=messages.ERROR)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
