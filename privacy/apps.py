from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "Privacy and protection of personal data"

    def ready(self):
        from privacy import (  # noqa: F401 - registrations: system checks, privacy registry
            checks,
            personal_data,
        )
