from django.apps import AppConfig


class GarageConfig(AppConfig):
    name = "garage"
    verbose_name = "Garage operations"

    def ready(self):
        from garage import audit  # noqa: F401 - registers the models with django-auditlog
