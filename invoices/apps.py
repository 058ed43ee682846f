from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = "Invoices, credit notes and payments"

    def ready(self):
        from invoices import audit, checks, personal_data  # noqa: F401 - registries and checks
