"""Customer records: registration at the front desk, account links and contact updates."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from accounts.models import Role
from config.exceptions import ApplicationError
from garage.identifiers import normalise_cin, normalise_tax_id
from garage.models import Customer
from privacy.normalise import normalise_email, normalise_phone

# What a customer may change on their own record. Identity (kind, company, CIN, tax ID) is
# checked against papers at the front desk, and the account link is the super-admin's decision.
SELF_SERVICE_FIELDS = frozenset(
    {"full_name", "phone", "phone_secondary", "email", "address", "preferred_contact"}
)
ADMIN_FIELDS = SELF_SERVICE_FIELDS | {"kind", "user", "company_name", "tax_id", "national_id"}

# Optional identifiers: stored in their normal form, an empty value stored as NULL (not indexed).
_NORMALISERS = {
    "phone": normalise_phone,
    "phone_secondary": normalise_phone,
    "email": normalise_email,
    "national_id": normalise_cin,
    "tax_id": normalise_tax_id,
}
_TEXT_FIELDS = ("full_name", "company_name", "address")


def _invalid(errors: dict) -> ApplicationError:
    return ApplicationError("Invalid customer details.", code="invalid", extra=errors)


def _clean(values: dict) -> dict:
    """The given values in their stored form: trimmed, identifiers normalised, empty as None."""
    cleaned, errors = {}, {}
    for name, value in values.items():
        if name in _NORMALISERS:
            value = (value or "").strip() or None
            if value is not None:
                try:
                    value = _NORMALISERS[name](value)
                except DjangoValidationError as exc:
                    errors[name] = exc.messages
        elif name in _TEXT_FIELDS:
            value = (value or "").strip()
        cleaned[name] = value
    if errors:
        raise _invalid(errors)
    return cleaned


def _check_account_link(*, user, customer: Customer) -> None:
    """Only a customer-role account, and one not linked to another customer record."""
    if user is None:
        return
    if user.role != Role.CUSTOMER:
        raise _invalid({"user": ["Only a customer account can be linked to a customer record."]})
    if Customer.objects.filter(user=user).exclude(pk=customer.pk).exists():
        raise _invalid({"user": ["This account is already linked to another customer record."]})


def _validate_and_save(customer: Customer) -> Customer:
    """Run the model validators and the company rule, then save (race-safe account link)."""
    try:
        customer.full_clean(exclude=["user"], validate_unique=False)
    except DjangoValidationError as exc:
        raise _invalid(exc.message_dict) from exc
    if customer.kind == Customer.Kind.COMPANY and not customer.company_name:
        raise _invalid({"company_name": ["A company customer needs a company name."]})
    _check_account_link(user=customer.user, customer=customer)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:  # a concurrent request linked the same account first
        raise _invalid(
            {"user": ["This account is already linked to another customer record."]}
        ) from exc
    return customer


@transaction.atomic
def customer_create(
    *,
    full_name: str,
    kind: str = Customer.Kind.INDIVIDUAL,
    user=None,
    company_name: str = "",
    tax_id: str | None = None,
    national_id: str | None = None,
    phone: str | None = None,
    phone_secondary: str | None = None,
    email: str | None = None,
    address: str = "",
    preferred_contact: str = Customer.ContactMethod.PHONE,
) -> Customer:
    """Register a customer: a walk-in without an account, or linked to a customer-role user."""
    values = _clean(
        {
            "full_name": full_name,
            "company_name": company_name,
            "tax_id": tax_id,
            "national_id": national_id,
            "phone": phone,
            "phone_secondary": phone_secondary,
            "email": email,
            "address": address,
        }
    )
    customer = Customer(kind=kind, user=user, preferred_contact=preferred_contact, **values)
    return _validate_and_save(customer)


@transaction.atomic
def customer_update(*, customer: Customer, actor, data: dict) -> Customer:
    """Change a customer record: super-admins every field, the customer only contact fields."""
    allowed = ADMIN_FIELDS if actor.role == Role.SUPER_ADMIN else SELF_SERVICE_FIELDS
    refused = sorted(set(data) - allowed)
    if refused:
        raise _invalid({name: ["This field cannot be changed here."] for name in refused})
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    for name, value in _clean(data).items():
        setattr(customer, name, value)
    return _validate_and_save(customer)
