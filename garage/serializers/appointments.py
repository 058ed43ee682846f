"""Input and output shapes of the appointments API."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import RejectUnknownFieldsMixin
from garage.models import Appointment, Service, Vehicle
from garage.services.appointments import slot_length

AVAILABILITY_WINDOW_DAYS = 366


@extend_schema_field(
    {"type": "string", "enum": Appointment.Status.values}, component_name="AppointmentStatusEnum"
)
class AppointmentStatusField(serializers.ChoiceField):
    """The status as a named schema enum (service orders have a `status` of their own)."""


class AppointmentVehicleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = ["id", "plate", "make", "model"]
        read_only_fields = fields


class AppointmentServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "code", "name"]
        read_only_fields = fields


class AppointmentOutputSerializer(serializers.ModelSerializer):
    vehicle = AppointmentVehicleSerializer(read_only=True)
    services = AppointmentServiceSerializer(many=True, read_only=True)
    status = AppointmentStatusField(choices=Appointment.Status.choices, read_only=True)
    start = serializers.DateTimeField(source="slot.start", read_only=True)
    end = serializers.SerializerMethodField()
    service_order = serializers.SerializerMethodField(
        help_text="The service order opened at check-in, if any."
    )

    class Meta:
        model = Appointment
        fields = [
            "id",
            "customer",
            "vehicle",
            "start",
            "end",
            "services",
            "status",
            "notes",
            "service_order",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_end(self, appointment):
        end = appointment.slot.start + slot_length()
        return serializers.DateTimeField().to_representation(end)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_service_order(self, appointment):
        if hasattr(appointment, "service_order_ref"):
            return appointment.service_order_ref
        order = getattr(appointment, "service_order", None)
        return order.pk if order is not None else None


class AppointmentBookInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A customer's booking: always for themselves (a `customer` field is refused)."""

    vehicle = serializers.IntegerField(min_value=1, help_text="One of your vehicles.")
    start = serializers.DateTimeField(
        help_text="Slot start (Africa/Tunis if no offset): on a slot boundary, in opening "
        "hours (Mon to Sat 08:00 to 18:00), in the future."
    )
    services = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.filter(is_active=True),
        many=True,
        required=False,
        help_text="Ids of active catalogue services.",
    )
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AppointmentBookForCustomerInputSerializer(AppointmentBookInputSerializer):
    """The front desk's booking: for the given customer and one of their vehicles."""

    customer = serializers.IntegerField(min_value=1)
    vehicle = serializers.IntegerField(min_value=1, help_text="One of that customer's vehicles.")


class AppointmentCheckInInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    odometer_in = serializers.IntegerField(
        min_value=0, max_value=9_999_999, required=False, allow_null=True
    )


class AppointmentCheckInOutputSerializer(serializers.Serializer):
    appointment = AppointmentOutputSerializer()
    service_order = serializers.IntegerField(help_text="Id of the service order just opened.")


class AvailabilityQuerySerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    date = serializers.DateField(help_text="YYYY-MM-DD, at most a year before or after today.")

    def validate_date(self, value):
        # Far dates mean nothing for a booking and, before 1911, Tunis time had a local-mean-
        # time offset (+00:40:44) that no RFC 3339 timestamp can carry.
        today = timezone.localdate()
        if abs((value - today).days) > AVAILABILITY_WINDOW_DAYS:
            raise serializers.ValidationError("Give a date within a year of today.")
        return value


class AvailabilitySlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    remaining = serializers.IntegerField()
    bookable = serializers.BooleanField(help_text="A bay is free and the slot has not begun.")
