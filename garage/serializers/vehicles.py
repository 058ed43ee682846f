"""Input and output shapes of the vehicle, odometer and vehicle-document API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import OutputModelSerializer, RejectUnknownFieldsMixin
from garage.identifiers import validate_plate, validate_vin
from garage.models import Customer, OdometerReading, Vehicle, VehicleDocument

MAX_KM = 9_999_999


class VehicleOutputSerializer(OutputModelSerializer):
    """A vehicle with its last odometer reading and the next service due (read-only)."""

    last_odometer_km = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The last odometer reading, in km."
    )
    last_odometer_on = serializers.DateField(
        read_only=True, allow_null=True, help_text="The date of the last odometer reading."
    )

    class Meta:
        model = Vehicle
        fields = [
            "id",
            "customer",
            "plate",
            "vin",
            "make",
            "model",
            "year",
            "fuel",
            "colour",
            "last_odometer_km",
            "last_odometer_on",
            "next_service_date",
            "next_service_km",
            "created_at",
        ]
        read_only_fields = fields


class VehicleInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A customer's vehicle: the owner is always the caller's own customer record."""

    plate = serializers.CharField(
        max_length=20,
        help_text="Tunisian plate as written: '123 تونس 4567', '123 TU 4567', 'RS 123456' or "
        "'12345 ن ت'. Shown as entered; matched in any spelling.",
    )
    vin = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="17 letters and digits, without I, O or Q.",
    )
    make = serializers.CharField(max_length=50)
    model = serializers.CharField(max_length=50)
    year = serializers.IntegerField(
        required=False, allow_null=True, help_text="From 1950 to next year."
    )
    fuel = serializers.ChoiceField(choices=Vehicle.Fuel.choices, required=False, allow_blank=True)
    colour = serializers.CharField(max_length=30, required=False, allow_blank=True)


class VehicleAdminInputSerializer(VehicleInputSerializer):
    """A vehicle registered by a super-admin, who chooses the owner."""

    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())


class OdometerInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    km = serializers.IntegerField(min_value=0, max_value=MAX_KM)
    recorded_on = serializers.DateField(
        required=False, help_text="Defaults to today; never in the future."
    )
    correction = serializers.BooleanField(
        default=False,
        help_text="Super-admins only: record a value lower than the last reading (a correction).",
    )


class OdometerReadingOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OdometerReading
        fields = ["id", "km", "recorded_on", "source", "created_at"]
        read_only_fields = fields


# A named enum component: several garage models have a `kind`, each with its own choices.
@extend_schema_field(
    {"type": "string", "enum": VehicleDocument.Kind.values},
    component_name="VehicleDocumentKindEnum",
)
class VehicleDocumentKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=VehicleDocument.Kind.choices, **kwargs)


class VehicleDocumentUploadInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    file = serializers.FileField(
        help_text="PDF, JPEG or PNG (recognised by content), at most 10 MB.",
        allow_empty_file=False,
    )
    kind = VehicleDocumentKindField(default=VehicleDocument.Kind.REGISTRATION)


class VehicleDocumentOutputSerializer(serializers.ModelSerializer):
    kind = VehicleDocumentKindField(read_only=True)
    original_name = serializers.CharField(source="file.original_name", read_only=True)
    content_type = serializers.CharField(
        source="file.content_type", read_only=True, help_text="Detected from the content."
    )
    size = serializers.IntegerField(source="file.size", read_only=True, help_text="In bytes.")

    class Meta:
        model = VehicleDocument
        fields = ["id", "kind", "original_name", "content_type", "size", "uploaded_at"]
        read_only_fields = fields


class VehicleSearchInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Exact search by plate or VIN, sent in a POST body so that no URL or log holds them."""

    plate = serializers.CharField(
        max_length=32,
        required=False,
        validators=[validate_plate],
        help_text="Exact plate in either spelling: '123 تونس 4567' or '123 TU 4567'.",
    )
    vin = serializers.CharField(
        max_length=32, required=False, validators=[validate_vin], help_text="Exact VIN."
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give a plate or a VIN.")
        return super().validate(attrs)
