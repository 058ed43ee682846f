from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self):
        from accounts import (  # noqa: F401 - registrations: django-auditlog, OpenAPI auth scheme
            audit,
            schema,
        )
