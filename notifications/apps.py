from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications (outbox)"

    def ready(self):
        from notifications import (  # noqa: F401 - registrations: system checks, privacy registry
            checks,
            personal_data,
        )
