"""Input and output shapes of the customer API."""

from django.core.validators import validate_email
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from config.serializers import OutputModelSerializer, RejectUnknownFieldsMixin
from garage.identifiers import validate_cin, validate_tax_id
from garage.models import Customer
from privacy.normalise import validate_phone


# A named enum component: several garage models have a `kind`, each with its own choices.
@extend_schema_field(
    {"type": "string", "enum": Customer.Kind.values}, component_name="CustomerKindEnum"
)
class CustomerKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Customer.Kind.choices, **kwargs)


class CustomerListOutputSerializer(OutputModelSerializer):
    """A row of the customer list: enough to find and call someone, no identity numbers."""

    kind = CustomerKindField(read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "kind",
            "full_name",
            "company_name",
            "phone",
            "preferred_contact",
            "user",
            "created_at",
        ]
        read_only_fields = fields


class CustomerDetailOutputSerializer(OutputModelSerializer):
    """The full customer record."""

    kind = CustomerKindField(read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "kind",
            "user",
            "full_name",
            "company_name",
            "tax_id",
            "national_id",
            "phone",
            "phone_secondary",
            "email",
            "address",
            "preferred_contact",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CustomerContactInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Contact details a customer may change on their own record (all optional)."""

    full_name = serializers.CharField(max_length=150, required=False)
    phone = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Stored in E.164: 8 digits for Tunisia (+216 added) or +country code.",
    )
    phone_secondary = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True
    )
    email = serializers.EmailField(
        max_length=254, required=False, allow_blank=True, allow_null=True
    )
    address = serializers.CharField(max_length=500, required=False, allow_blank=True)
    preferred_contact = serializers.ChoiceField(
        choices=Customer.ContactMethod.choices, required=False
    )


class CustomerAdminUpdateInputSerializer(CustomerContactInputSerializer):
    """Every field of a customer record, for super-admins (all optional)."""

    kind = CustomerKindField(required=False)
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="A customer-role account not linked to another customer record; null unlinks.",
    )
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    tax_id = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Matricule fiscal, e.g. 1234567A/A/M/000 (stored without separators).",
    )
    national_id = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="CIN: 8 digits.",
    )


class CustomerCreateInputSerializer(CustomerAdminUpdateInputSerializer):
    """A new customer record (super-admins): `full_name` required; company_name for companies."""

    full_name = serializers.CharField(max_length=150)


class CustomerSearchInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Exact search by personal values, sent in a POST body so that no URL or log holds them."""

    email = serializers.CharField(
        max_length=254, required=False, validators=[validate_email], help_text="Exact e-mail."
    )
    phone = serializers.CharField(
        max_length=32, required=False, validators=[validate_phone], help_text="Exact phone."
    )
    cin = serializers.CharField(
        max_length=16, required=False, validators=[validate_cin], help_text="Exact CIN (8 digits)."
    )
    tax_id = serializers.CharField(
        max_length=32,
        required=False,
        validators=[validate_tax_id],
        help_text="Exact matricule fiscal.",
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give at least one of email, phone, cin, tax_id.")
        return super().validate(attrs)
