"""System checks: usable encryption keys, data residency, encrypted fields on guarded querysets."""

from django.apps import apps
from django.conf import settings
from django.core import checks

from config.residency import residency_problems
from privacy.keys import validate_key_config
from privacy.querysets import EncryptedQuerySet


@checks.register(checks.Tags.security, deploy=False)
def check_encryption_keys(app_configs, **kwargs):
    return [
        checks.Error(problem, id="privacy.E001", hint="python manage.py generate_encryption_key")
        for problem in validate_key_config()
    ]


@checks.register(checks.Tags.security)
def check_data_residency(app_configs, **kwargs):
    # Production only: dev and test talk to whatever the developer runs locally.
    if settings.ENVIRONMENT != "production":
        return []
    return [
        checks.Error(
            problem,
            id="privacy.E004",
            hint="Use a destination hosted in Tunisia and add it to DATA_RESIDENCY_ALLOWED_HOSTS.",
        )
        for problem in residency_problems()
    ]


@checks.register(checks.Tags.models)
def check_encrypted_models(app_configs, **kwargs):
    errors = []
    for model in apps.get_models():
        encrypted = [f.name for f in model._meta.fields if getattr(f, "encrypted", False)]
        if not encrypted:
            continue
        if not isinstance(model._default_manager.get_queryset(), EncryptedQuerySet):
            errors.append(
                checks.Error(
                    f"{model._meta.label} has encrypted fields but its default manager is not "
                    "an EncryptedManager.",
                    obj=model,
                    id="privacy.E002",
                )
            )
        ordered = [o for o in model._meta.ordering if str(o).lstrip("-?") in encrypted]
        if ordered:
            errors.append(
                checks.Error(
                    f"{model._meta.label} is ordered by encrypted fields {ordered}.",
                    obj=model,
                    id="privacy.E003",
                )
            )
    return errors
