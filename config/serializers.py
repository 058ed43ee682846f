"""Serializer rules and base classes shared by the API's apps."""

import copy
from collections.abc import Mapping
from datetime import date, datetime

from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.fields import DictField, Field, ListField, SkipField
from rest_framework.relations import ManyRelatedField, PKOnlyObject
from rest_framework.serializers import BaseSerializer

# Dates a garage can mean: far-away years (0001-01-01, year 28) are typing mistakes or probes,
# and before 1900 Africa/Tunis renders local mean time offsets (+00:40:44) that RFC 3339 refuses.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)


class RejectUnknownFieldsMixin:
    """Refuse fields the serializer does not declare as writable instead of silently dropping them.

    The one rule for every API input (nested ones included): a client sending `customer`,
    `status`, `unit_price` or `user` where it may not set them learns so (400), rather than
    believing the change was made. Dates and datetimes must also fall within plausible years.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field cannot be changed here."] for name in unknown}
                )
        values = super().to_internal_value(data)
        out_of_range = [name for name, value in values.items() if not _plausible(value)]
        if out_of_range:
            message = f"Give a date between {EARLIEST_DATE} and {LATEST_DATE}."
            raise serializers.ValidationError({name: [message] for name in out_of_range})
        return values


def _plausible(value) -> bool:
    """False for a date or datetime outside the years the API accepts."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return EARLIEST_DATE <= value <= LATEST_DATE
    return True


class NoInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The body of an action that takes no input: any field in it is refused."""


_NESTING = (BaseSerializer, ListField, DictField, ManyRelatedField)


def _fresh_copies(fields: dict) -> dict:
    """New, unbound copies of template fields for one serializer.

    DRF deep-copies declared fields, which builds every field again from its constructor
    arguments (a ChoiceField recomputes its choices). A response field is only read once bound,
    so a shallow copy is enough: bind() then sets its own name, parent and source on the copy.
    A field holding other fields (a nested serializer, a ListField's or DictField's child, a
    many=True relation's child) still gets a deep copy: those are bound below it.
    """
    return {
        name: copy.deepcopy(field) if isinstance(field, _NESTING) else copy.copy(field)
        for name, field in fields.items()
    }


class OutputSerializer(serializers.Serializer):
    """A Serializer for responses only, whose declared fields are copied cheaply per use."""

    def get_fields(self):
        return _fresh_copies(self._declared_fields)


class OutputModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer for responses, with the per-use work of DRF's done once.

    ModelSerializer.get_fields() introspects the model and maps every field on each
    instantiation, a large part of a list request. The mapping depends only on the class (its
    Meta and declared fields), so it is kept, and each serializer gets fresh copies
    (_fresh_copies): bound fields are never shared between serializers.

    Rendering a row looks each field's value up through DRF's generic path (source attributes,
    callables, pk-only objects) for every row. For a plain model column, or a foreign key shown
    as its id, the way to the value is known from the class alone: `_plan` works it out once
    per class, and every other field keeps DRF's path.
    """

    _built_fields: dict[type, dict] = {}
    # Per class and set of fields (a serializer may drop some of its fields in __init__).
    _plans: dict[tuple, list[tuple[str, str | None, bool]]] = {}

    def get_fields(self):
        built = OutputModelSerializer._built_fields.get(type(self))
        if built is None:
            built = OutputModelSerializer._built_fields[type(self)] = super().get_fields()
        return _fresh_copies(built)

    def _plan_of_class(self) -> list[tuple[str, str | None, bool]]:
        """(field name, model attribute or None for DRF's path, whether the value is final)."""
        columns = {f.name: f for f in self.Meta.model._meta.concrete_fields}
        plan = []
        for field in self._readable_fields:
            column = columns.get(field.source)
            if column is None:
                plan.append((field.field_name, None, False))
            elif (
                type(field) is serializers.PrimaryKeyRelatedField
                and column.is_relation
                and field.pk_field is None
            ):
                plan.append((field.field_name, column.attname, True))
            elif not column.is_relation and type(field).get_attribute is Field.get_attribute:
                plan.append((field.field_name, column.attname, False))
            else:
                plan.append((field.field_name, None, False))
        return plan

    @cached_property
    def _plan(self) -> list[tuple[Field, str | None, bool]]:
        """The plan of this class and these fields, with this serializer's bound fields."""
        fields = self.fields
        key = (type(self), tuple(fields))
        plan = OutputModelSerializer._plans.get(key)
        if plan is None:
            plan = OutputModelSerializer._plans[key] = self._plan_of_class()
        return [(fields[name], attname, final) for name, attname, final in plan]

    def to_representation(self, instance):
        ret = {}
        for field, attname, final in self._plan:
            if attname is None:
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
                check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            else:
                attribute = check = getattr(instance, attname)
            if check is None:
                ret[field.field_name] = None
            elif final:
                ret[field.field_name] = attribute
            else:
                ret[field.field_name] = field.to_representation(attribute)
        return ret
