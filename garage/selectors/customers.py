"""Reads of customer records, scoped to the caller."""

import django_filters
from django.core.validators import validate_email
from django.http import Http404

from accounts.models import Role
from garage.identifiers import validate_cin, validate_tax_id
from garage.models import Customer
from privacy.normalise import validate_phone


class BlindIndexFilter(django_filters.CharFilter):
    """Exact match on an encrypted field through its blind index (`field_name` is the field).

    The validator refuses a value that cannot be normalised: a 400 with a field error instead of
    the ValidationError the normaliser would raise while computing the digest (a 500).
    """

    def filter(self, qs, value):
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        return qs.blind_lookup(**{self.field_name: value})


class CustomerFilter(django_filters.FilterSet):
    """Filters of the customer list: exact search through blind indexes, plain choice fields."""

    phone = BlindIndexFilter(
        field_name="phone", validators=[validate_phone], help_text="Exact phone number."
    )
    email = BlindIndexFilter(
        field_name="email",
        validators=[validate_email],
        help_text="Exact e-mail address (case-insensitive).",
    )
    cin = BlindIndexFilter(
        field_name="national_id", validators=[validate_cin], help_text="Exact CIN (8 digits)."
    )
    tax_id = BlindIndexFilter(
        field_name="tax_id", validators=[validate_tax_id], help_text="Exact matricule fiscal."
    )

    class Meta:
        model = Customer
        fields = ["kind", "preferred_contact"]


def customer_list(*, user):
    """The customers the caller may see: all for super-admins, their own record for a customer.

    Technicians see customers only through the service orders assigned to them (name only).
    The list view narrows this queryset further with CustomerFilter (DRF's filter backend).
    """
    if user.role == Role.SUPER_ADMIN:
        return Customer.objects.all()
    if user.role == Role.CUSTOMER:
        return Customer.objects.filter(user=user)
    return Customer.objects.none()


def customer_get(*, user, pk) -> Customer:
    """One customer the caller may see; anything else (including another's record) is a 404."""
    customer = customer_list(user=user).filter(pk=pk).first()
    if customer is None:
        raise Http404
    return customer


def customer_of_user(*, user) -> Customer | None:
    """The customer record linked to a customer-role account, if any."""
    return Customer.objects.filter(user=user).first() if user.role == Role.CUSTOMER else None
