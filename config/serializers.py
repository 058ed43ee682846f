"""Serializer base classes shared by the API's apps."""

import copy

from rest_framework import serializers


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
