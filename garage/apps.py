from django.apps import AppConfig


class GarageConfig(AppConfig):
    name = "garage"
    verbose_name = "Garage operations"

    def ready(self):
        from garage import audit, personal_data  # noqa: F401 - auditlog and privacy registries
