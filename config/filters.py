"""Filters shared by the API's list endpoints."""

from django_filters import NumberFilter

BIGINT_MAX = 2**63 - 1


class IdFilter(NumberFilter):
    """An object id: a whole number that fits the column, else a 400 (never a database error)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        kwargs.setdefault("decimal_places", 0)
        super().__init__(*args, **kwargs)
