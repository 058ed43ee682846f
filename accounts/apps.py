from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self):
        from auditlog import get_logentry_model
        from django.db.models.signals import pre_save

        from accounts import (  # noqa: F401 - registrations: auditlog, OpenAPI, privacy
            audit,
            personal_data,
            schema,
        )
        from accounts.middleware import fill_log_entry

        pre_save.connect(
            fill_log_entry, sender=get_logentry_model(), dispatch_uid="accounts.fill_log_entry"
        )
