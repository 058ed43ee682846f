"""Querysets for models with encrypted fields: blind-index lookups, no ordering on ciphertext."""

from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import models
from django.db.models import F, Value
from django.db.models.constants import LOOKUP_SEP

from privacy.fields import BlindIndexField


def blind_indexes(model) -> dict[str, BlindIndexField]:
    """The blind-index fields of a model, by the name of the field they index."""
    return {f.source: f for f in model._meta.fields if isinstance(f, BlindIndexField)}


def _ordering_field(model, name: str):
    """The field an order_by() term ends on, or None for expressions and unknown names."""
    field = None
    for part in name.lstrip("-?").split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    return field


def _term_names(term) -> list[str]:
    """The field paths an order_by() term refers to: "-name", F("name"), Lower("name")…"""
    if isinstance(term, str):
        return [term]
    if isinstance(term, F):
        return [term.name]
    return [node.name for node in term.flatten() if isinstance(node, F)]


class EncryptedQuerySet(models.QuerySet):
    def order_by(self, *field_names):
        for term in field_names:
            for name in _term_names(term):
                field = _ordering_field(self.model, name)
                if getattr(field, "encrypted", False):
                    raise FieldError(
                        f"{field.model._meta.label}.{field.name} is encrypted and cannot be "
                        "ordered."
                    )
        return super().order_by(*field_names)

    def update(self, **kwargs):
        # An update must keep the blind indexes in step with the values they index.
        for source, index in blind_indexes(self.model).items():
            if source not in kwargs or index.name in kwargs:
                continue
            value = kwargs[source]
            if isinstance(value, Value):
                value = value.value
            elif hasattr(value, "resolve_expression"):
                raise FieldError(
                    f"{self.model._meta.label}.{source} has a blind index: update it with a "
                    "plain value."
                )
            kwargs[index.name] = index.digest(value)
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        objs, fields = list(objs), list(fields)
        for source, index in blind_indexes(self.model).items():
            if source in fields and index.name not in fields:
                for obj in objs:
                    setattr(obj, index.attname, index.digest(getattr(obj, source)))
                fields.append(index.name)
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def blind_lookup(self, **values):
        """Exact match on encrypted fields through their blind indexes: blind_lookup(email=...)."""
        indexes = blind_indexes(self.model)
        filters = {}
        for name, value in values.items():
            if name not in indexes:
                raise FieldError(f"{self.model._meta.label}.{name} has no blind index.")
            filters[indexes[name].name] = indexes[name].digest(value)
        return self.filter(**filters)


EncryptedManager = models.Manager.from_queryset(EncryptedQuerySet)
