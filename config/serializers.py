"""Serializer rules and base classes shared by the API's apps."""

import copy
from collections.abc import Mapping
from datetime import date, datetime

from rest_framework import serializers

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


class OutputModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that builds its fields from the model once per class, not per use.

    ModelSerializer.get_fields() introspects the model and maps every field on each
    instantiation, a large part of a list request. The mapping depends only on the class (its
    Meta and declared fields), so it is kept, and each serializer gets a fresh deep copy, as
    DRF does for declared fields: bound fields are never shared between serializers.
    """

    _built_fields: dict[type, dict] = {}

    def get_fields(self):
        built = OutputModelSerializer._built_fields.get(type(self))
        if built is None:
            built = OutputModelSerializer._built_fields[type(self)] = super().get_fields()
        return copy.deepcopy(built)
