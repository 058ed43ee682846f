"""Input and output shapes of the service-order API, one output per role.

A technician's view of an order holds the vehicle and the customer's name only: no contact
details, national or tax ID, address or documents (they have no need for them to do the work).
"""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import RejectUnknownFieldsMixin
from garage.models import LineApproval, Part, Service, ServiceOrder, Vehicle
from garage.selectors.orders import (
    labour_line_total,
    part_line_total,
    service_order_totals,
    vehicle_service_due,
)

MONEY = {"max_digits": 12, "decimal_places": 3}
# Sent as a decimal string ("120.000"), like every other amount.
LINE_TOTAL = serializers.DecimalField(**MONEY)
DECISIONS = [LineApproval.APPROVED, LineApproval.DECLINED]

# --- Input ---------------------------------------------------------------------------------------


class ServiceOrderCreateInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    vehicle = serializers.PrimaryKeyRelatedField(
        queryset=Vehicle.objects.select_related("customer")
    )
    complaint = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    odometer_in = serializers.IntegerField(
        min_value=0,
        max_value=2_000_000,
        required=False,
        allow_null=True,
        default=None,
        help_text="Kilometres on arrival; refused (odometer_decrease) below the last reading.",
    )


class LabourLineInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all())
    hours = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal("0.01"))
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class LabourLineUpdateInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    hours = serializers.DecimalField(
        max_digits=6, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=False)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give the hours or the description to change.")
        return attrs


class PartLineInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    part = serializers.PrimaryKeyRelatedField(queryset=Part.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class LineDecisionsField(serializers.DictField):
    """{"<line id>": "approved" | "declined"}, with the ids as integers once validated."""

    child = serializers.ChoiceField(choices=DECISIONS)

    def to_internal_value(self, data):
        decisions = super().to_internal_value(data)
        parsed = {}
        for key, value in decisions.items():
            try:
                parsed[int(key)] = value
            except (TypeError, ValueError):
                raise serializers.ValidationError(f"'{key}' is not a line id.") from None
        return parsed


class LinesDecideInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    labour = LineDecisionsField(required=False, default=dict)
    parts = LineDecisionsField(required=False, default=dict)

    def validate(self, attrs):
        if not attrs["labour"] and not attrs["parts"]:
            raise serializers.ValidationError("Decide at least one line.")
        return attrs


class AssignInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    technicians = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=20,
        help_text="User ids of active technicians; replaces the current assignment.",
    )


class NoteInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    text = serializers.CharField(max_length=1000)


# --- Output: lines and totals --------------------------------------------------------------------


class LabourLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.IntegerField(source="service_id")
    service_code = serializers.CharField(source="service.code")
    description = serializers.CharField()
    hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    unit_price = serializers.DecimalField(**MONEY)
    tva_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    approval = serializers.ChoiceField(choices=LineApproval.choices)
    total = serializers.SerializerMethodField(help_text="hours x unit price, excluding tax.")

    @extend_schema_field(LINE_TOTAL)
    def get_total(self, line) -> str:
        return str(labour_line_total(line))


class PartLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    part = serializers.IntegerField(source="part_id")
    part_sku = serializers.CharField(source="part.sku")
    part_name = serializers.CharField(source="part.name")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)
    tva_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    approval = serializers.ChoiceField(choices=LineApproval.choices)
    consumed = serializers.BooleanField(help_text="Whether the stock was already taken.")
    total = serializers.SerializerMethodField(help_text="quantity x unit price, excluding tax.")

    @extend_schema_field(LINE_TOTAL)
    def get_total(self, line) -> str:
        return str(part_line_total(line))


class TvaAmountSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    base = serializers.DecimalField(**MONEY)
    amount = serializers.DecimalField(**MONEY)


class TotalsSerializer(serializers.Serializer):
    """Totals of the approved and pending lines; declined lines are left out."""

    labour = serializers.DecimalField(**MONEY)
    parts = serializers.DecimalField(**MONEY)
    total_excl_tax = serializers.DecimalField(**MONEY)
    tva = TvaAmountSerializer(many=True)
    total_tva = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)


class _TotalsMixin(serializers.Serializer):
    totals = serializers.SerializerMethodField()

    @extend_schema_field(TotalsSerializer)
    def get_totals(self, order):
        # One TotalsSerializer per list, not one per order: building serializers is the cost.
        if not hasattr(self, "_totals_output"):
            self._totals_output = TotalsSerializer()
        return self._totals_output.to_representation(service_order_totals(order))


# --- Output: orders, per role --------------------------------------------------------------------


class TechnicianSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class OrderVehicleSerializer(serializers.Serializer):
    """The vehicle of an order, read from the order (its latest reading is annotated on it)."""

    id = serializers.IntegerField(source="vehicle.id")
    make = serializers.CharField(source="vehicle.make")
    model = serializers.CharField(source="vehicle.model")
    plate = serializers.CharField(source="vehicle.plate")
    vin = serializers.CharField(source="vehicle.vin", allow_null=True)
    last_odometer_km = serializers.IntegerField(source="vehicle_last_km", allow_null=True)


class CustomerVehicleSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    make = serializers.CharField()
    model = serializers.CharField()
    plate = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)


class CustomerNameSerializer(serializers.Serializer):
    """The customer as a technician sees them: the name, nothing else."""

    full_name = serializers.CharField()


class CustomerSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()


class _OrderBaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ServiceOrder.Status.choices)
    complaint = serializers.CharField()
    odometer_in = serializers.IntegerField(allow_null=True)
    technician_notes = serializers.CharField()
    labour_lines = LabourLineOutputSerializer(many=True)
    part_lines = PartLineOutputSerializer(many=True)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class ServiceOrderTechnicianOutputSerializer(_OrderBaseSerializer):
    """An assigned technician's view: vehicle and customer name only, no contact data."""

    vehicle = OrderVehicleSerializer(source="*")
    customer = CustomerNameSerializer()
    technicians = TechnicianSummarySerializer(many=True)


class ServiceOrderCustomerOutputSerializer(_TotalsMixin, _OrderBaseSerializer):
    """The customer's view of their own order and its estimate."""

    vehicle = CustomerVehicleSummarySerializer()
    approval_method = serializers.ChoiceField(
        choices=ServiceOrder.ApprovalMethod.choices, allow_blank=True
    )
    approved_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


class ServiceOrderAdminOutputSerializer(_TotalsMixin, _OrderBaseSerializer):
    """The front desk's view: everything about the order."""

    customer = CustomerSummarySerializer()
    vehicle = OrderVehicleSerializer(source="*")
    technicians = TechnicianSummarySerializer(many=True)
    appointment = serializers.IntegerField(source="appointment_id", allow_null=True)
    approval_method = serializers.ChoiceField(
        choices=ServiceOrder.ApprovalMethod.choices, allow_blank=True
    )
    approved_at = serializers.DateTimeField(allow_null=True)
    approved_ip = serializers.IPAddressField(allow_null=True)
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


# --- Output: vehicle history ---------------------------------------------------------------------


class HistoryLabourLineSerializer(serializers.Serializer):
    description = serializers.CharField()
    hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    total = serializers.SerializerMethodField()

    @extend_schema_field(LINE_TOTAL)
    def get_total(self, line) -> str:
        return str(labour_line_total(line))


class HistoryPartLineSerializer(serializers.Serializer):
    part_name = serializers.CharField(source="part.name")
    quantity = serializers.IntegerField()
    total = serializers.SerializerMethodField()

    @extend_schema_field(LINE_TOTAL)
    def get_total(self, line) -> str:
        return str(part_line_total(line))


class HistoryOrderSerializer(_TotalsMixin, serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ServiceOrder.Status.choices)
    date = serializers.DateTimeField(source="completed_at", help_text="When the work was done.")
    delivered_at = serializers.DateTimeField(allow_null=True)
    odometer_in = serializers.IntegerField(allow_null=True)
    complaint = serializers.CharField()
    labour_lines = HistoryLabourLineSerializer(many=True)
    part_lines = HistoryPartLineSerializer(many=True)


class VehicleHistoryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    make = serializers.CharField()
    model = serializers.CharField()
    plate = serializers.CharField()
    last_odometer_km = serializers.IntegerField(source="last_km", allow_null=True)
    next_service_date = serializers.DateField(allow_null=True)
    next_service_km = serializers.IntegerField(allow_null=True)
    next_service_due = serializers.SerializerMethodField(
        help_text="True once the date or the mileage of the next service is reached."
    )
    orders = HistoryOrderSerializer(many=True, source="history")

    def get_next_service_due(self, vehicle) -> bool:
        return vehicle_service_due(vehicle)
