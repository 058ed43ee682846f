"""Reads of customer records, scoped to the caller."""

import django_filters
from django.http import Http404

from accounts.models import Role
from garage.models import Customer

# Search keys of the POST search bodies -> the encrypted field whose blind index they match.
CUSTOMER_SEARCH_FIELDS = {
    "email": "email",
    "phone": "phone",
    "cin": "national_id",
    "tax_id": "tax_id",
}


class CustomerFilter(django_filters.FilterSet):
    """Filters of the customer list: non-personal fields only (exact searches are POST bodies)."""

    class Meta:
        model = Customer
        fields = ["kind", "preferred_contact"]


def customer_list(*, user):
    """The customers the caller may see: all for super-admins, their own record for a customer.

    Technicians see customers only through the service orders assigned to them (name only).
    The list view narrows this queryset further with CustomerFilter (DRF's filter backend).
    Exact searches by personal values go through customer_search (a POST body, never a URL).
    """
    if user.role == Role.SUPER_ADMIN:
        return Customer.objects.all()
    if user.role == Role.CUSTOMER:
        return Customer.objects.filter(user=user)
    return Customer.objects.none()


def customer_search(*, user, filters: dict):
    """The caller's visible customers matching every given exact value, through blind indexes."""
    lookups = {CUSTOMER_SEARCH_FIELDS[key]: value for key, value in filters.items() if value}
    return customer_list(user=user).blind_lookup(**lookups).order_by("pk")


def customer_get(*, user, pk) -> Customer:
    """One customer the caller may see; anything else (including another's record) is a 404."""
    try:
        return customer_list(user=user).get(pk=pk)
    except Customer.DoesNotExist:
        raise Http404 from None


def customer_of_user(*, user) -> Customer | None:
    """The customer record linked to a customer-role account, if any."""
    return Customer.objects.filter(user=user).first() if user.role == Role.CUSTOMER else None
