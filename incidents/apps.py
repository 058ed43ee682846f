from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Security alerts and incidents"

    def ready(self):
        from incidents import (  # noqa: F401 - registrations: checks, audit, registry, signals
            audit,
            checks,
            personal_data,
            receivers,
        )
