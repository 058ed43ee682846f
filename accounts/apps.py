from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self):
        from accounts import (  # noqa: F401 - registrations: auditlog, OpenAPI, privacy
            audit,
            personal_data,
            schema,
        )
