"""Input and output shapes of the catalogue, parts and stock-movement API."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import RejectUnknownFieldsMixin
from garage.models import MONEY, TVA_RATE, Part, Service, StockMovement
from garage.services.catalogue import MANUAL_MOVEMENT_KINDS

# DRF refuses a value with more decimals than `decimal_places` (it does not round), so
# "12.3456" is a 400 with a field error and never silently becomes 12.346.
_MONEY_FIELD = {**MONEY, "min_value": Decimal("0")}
TVA_HELP = "TVA rate in percent (19, 13, 7 or 0 today); an invoice accepts only rates in force."


# --- Services -----------------------------------------------------------------------------------


class ServiceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = [
            "id",
            "code",
            "name",
            "labour_price",
            "estimated_minutes",
            "tva_rate",
            "is_active",
        ]
        read_only_fields = fields


class ServiceInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    code = serializers.CharField(max_length=20, help_text="Unique; stored upper-case.")
    name = serializers.CharField(max_length=120)
    labour_price = serializers.DecimalField(**_MONEY_FIELD, help_text="TND, 3 decimals.")
    estimated_minutes = serializers.IntegerField(min_value=1, max_value=10080, default=60)
    tva_rate = serializers.DecimalField(**TVA_RATE, default=Decimal("19"), help_text=TVA_HELP)
    is_active = serializers.BooleanField(
        default=True, help_text="Inactive services stay on past work but cannot be booked."
    )


# --- Parts --------------------------------------------------------------------------------------


class PartOutputSerializer(serializers.ModelSerializer):
    """A part as super-admins see it, prices included."""

    class Meta:
        model = Part
        fields = [
            "id",
            "sku",
            "name",
            "unit_price",
            "tva_rate",
            "stock",
            "reorder_level",
            "is_active",
        ]
        read_only_fields = fields


class PartTechnicianOutputSerializer(serializers.ModelSerializer):
    """A part as technicians see it: what to pick and whether it is in stock, no prices.

    Prices are copied onto the order by the service-order workflow; a technician never sets them.
    """

    class Meta:
        model = Part
        fields = ["id", "sku", "name", "stock", "reorder_level", "is_active"]
        read_only_fields = fields


class PartInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    sku = serializers.CharField(max_length=40, help_text="Unique; stored upper-case.")
    name = serializers.CharField(max_length=120)
    unit_price = serializers.DecimalField(**_MONEY_FIELD, help_text="TND, 3 decimals.")
    tva_rate = serializers.DecimalField(**TVA_RATE, default=Decimal("19"), help_text=TVA_HELP)
    reorder_level = serializers.IntegerField(min_value=0, default=0)
    is_active = serializers.BooleanField(default=True)

    def validate(self, attrs):
        # Refuse instead of ignoring: a client writing `stock` has misunderstood the model.
        if "stock" in self.initial_data:
            raise serializers.ValidationError(
                {"stock": ["Stock changes only through stock movements."]}
            )
        return attrs


# --- Stock movements ----------------------------------------------------------------------------

# Named enum components: several garage models have a `kind`, each with its own choices.
_ALL_KINDS = [k.value for k in StockMovement.Kind]
_MANUAL_KINDS = [k.value for k in MANUAL_MOVEMENT_KINDS]


@extend_schema_field({"type": "string", "enum": _ALL_KINDS}, component_name="StockMovementKindEnum")
class StockMovementKindField(serializers.ChoiceField):
    pass


@extend_schema_field(
    {"type": "string", "enum": _MANUAL_KINDS}, component_name="ManualStockMovementKindEnum"
)
class ManualStockMovementKindField(serializers.ChoiceField):
    pass


class StockMovementInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    kind = ManualStockMovementKindField(
        choices=[(k.value, k.label) for k in MANUAL_MOVEMENT_KINDS],
        help_text="`in`: goods received (positive quantity); `adjustment`: stock-take (signed).",
    )
    quantity = serializers.IntegerField(min_value=-1_000_000, max_value=1_000_000)
    reason = serializers.CharField(max_length=200)


class StockMovementOutputSerializer(serializers.ModelSerializer):
    kind = StockMovementKindField(choices=StockMovement.Kind.choices, read_only=True)
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "part",
            "kind",
            "quantity",
            "reason",
            "actor",
            "service_order",
            "stock_after",
            "created_at",
        ]
        read_only_fields = fields
