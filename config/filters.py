"""Filters shared by the API's list endpoints, and the filter backend every list uses."""

from django_filters import NumberFilter
from django_filters.rest_framework import DjangoFilterBackend

BIGINT_MAX = 2**63 - 1


class IdFilter(NumberFilter):
    """An object id: a whole number that fits the column, else a 400 (never a database error)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        kwargs.setdefault("decimal_places", 0)
        super().__init__(*args, **kwargs)


def _names_a_filter(param: str, filters) -> bool:
    """Whether a query parameter belongs to one of the filters (range widgets add `_suffix`)."""
    return param in filters or any(param.startswith(f"{name}_") for name in filters)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, which builds no FilterSet for a request without filter parameters.

    Building and validating a FilterSet costs about a millisecond per list request; when no
    parameter names one of its filters, its result is the queryset unchanged.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        filters = filterset_class.base_filters
        if not any(_names_a_filter(param, filters) for param in request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)
