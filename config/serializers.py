"""Serializer rules shared by every API input."""

from collections.abc import Mapping

from rest_framework import serializers


class RejectUnknownFieldsMixin:
    """Refuse fields the serializer does not declare as writable instead of silently dropping them.

    The one rule for every API input (nested ones included): a client sending `customer`,
    `status`, `unit_price` or `user` where it may not set them learns so (400), rather than
    believing the change was made.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["This field cannot be changed here."] for name in unknown}
                )
        return super().to_internal_value(data)


class NoInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The body of an action that takes no input: any field in it is refused."""
