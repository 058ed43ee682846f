"""The privacy registry: every model holding personal data is declared by its app."""

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model

from privacy.registry import PersonalDataSource, Registry, registry


def project_app_configs() -> list:
    """The installed apps whose code is this project's (not a library under a virtualenv)."""
    root = Path(settings.BASE_DIR).resolve()
    configs = []
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(root) and "site-packages" not in path.parts:
            configs.append(config)
    return configs


def holds_personal_data(model) -> bool:
    """An encrypted field, or a link to a user or to a garage customer (or the user model)."""
    user_model = get_user_model()
    customer_model = apps.get_model("garage", "Customer")
    if model is user_model:
        return True
    for field in [*model._meta.fields, *model._meta.many_to_many]:
        if getattr(field, "encrypted", False):
            return True
        if field.is_relation and field.related_model in (user_model, customer_model):
            return True
    return False


def undeclared_models(checked_registry: Registry) -> list[str]:
    """Models of the project apps that hold personal data but are declared by no source."""
    declared = checked_registry.declared_models()
    return sorted(
        model._meta.label
        for config in project_app_configs()
        for model in config.get_models()
        if holds_personal_data(model) and model not in declared
    )


def copy_of(source_registry: Registry, *, without=None) -> Registry:
    """A fresh registry with the same sources, minus one model in whichever source declares it."""
    fresh = Registry()
    for source in source_registry.sources():
        models = tuple(model for model in source.models if model is not without)
        fresh.register(
            PersonalDataSource(
                name=source.name,
                models=models,
                export=source.export,
                erase=source.erase,
                files=source.files,
                order=source.order,
            )
        )
    return fresh


def test_the_project_apps_are_the_ones_checked():
    labels = {config.label for config in project_app_configs()}

    assert {"accounts", "garage", "privacy"} <= labels
    assert not labels & {"auth", "contenttypes", "auditlog", "token_blacklist", "admin"}


def test_every_model_with_personal_data_is_declared_in_the_registry():
    assert undeclared_models(registry) == []


def test_a_model_missing_from_the_registry_is_reported():
    from garage.models import Vehicle

    assert undeclared_models(copy_of(registry)) == []  # the copy itself is complete

    assert undeclared_models(copy_of(registry, without=Vehicle)) == ["garage.Vehicle"]


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("accounts.User", "the user model itself"),
        ("accounts.Profile", "encrypted fields and a link to the user"),
        ("accounts.AuthEvent", "a link to the user"),
        ("accounts.PasswordHistory", "a link to the user"),
        ("garage.Customer", "encrypted fields"),
        ("garage.Vehicle", "a link to the customer"),
        ("garage.ServiceOrder", "links to the customer and to users (many-to-many)"),
        ("garage.StockMovement", "a link to the acting user"),
        ("privacy.StoredFile", "encrypted fields only"),
        ("privacy.Consent", "a link to the user"),
        ("privacy.AccessRecord", "links to users"),
    ],
)
def test_an_empty_registry_misses_each_kind_of_personal_data_model(label, why):
    assert label in undeclared_models(Registry()), why


def test_models_without_personal_data_need_no_declaration():
    missing = undeclared_models(Registry())

    for label in ("garage.Service", "garage.Part", "garage.AppointmentSlot"):
        assert label not in missing
    assert "privacy.PrivacyNotice" not in missing


def test_every_model_with_encrypted_fields_is_exported_and_erased():
    lacking = []
    for source in registry.sources():
        for model in source.models:
            encrypted = any(getattr(f, "encrypted", False) for f in model._meta.fields)
            if encrypted and (source.export is None or source.erase is None):
                lacking.append(model._meta.label)

    assert lacking == []


def test_a_source_name_is_registered_once():
    fresh = Registry()
    fresh.register(PersonalDataSource(name="things"))

    with pytest.raises(ValueError, match="registered twice"):
        fresh.register(PersonalDataSource(name="things"))


def test_sources_are_ordered_for_export_and_the_account_comes_first():
    names = [source.name for source in registry.sources()]

    assert names[0] == "account"
    assert names.index("customer") < names.index("vehicles") < names.index("service_orders")
    assert len(names) == len(set(names))
