"""Plain DRF: ModelViewSets and ModelSerializers giving the same JSON as the garage API."""

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import OuterRef, Prefetch, Subquery
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from control.models import Customer, LabourLine, OdometerReading, PartLine, ServiceOrder, Vehicle

MILLIME = Decimal("0.001")


class CustomerListSerializer(serializers.ModelSerializer):
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


class CustomerSerializer(serializers.ModelSerializer):
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


class CustomerViewSet(viewsets.ModelViewSet):
    queryset = Customer.objects.all()

    def get_serializer_class(self):
        return CustomerListSerializer if self.action == "list" else CustomerSerializer


class VehicleSerializer(serializers.ModelSerializer):
    last_odometer_km = serializers.IntegerField(read_only=True, allow_null=True)
    last_odometer_on = serializers.DateField(read_only=True, allow_null=True)

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


def _last(vehicle_ref: str):
    return OdometerReading.objects.filter(vehicle=OuterRef(vehicle_ref)).order_by(
        "-recorded_on", "-id"
    )


class VehicleViewSet(viewsets.ModelViewSet):
    serializer_class = VehicleSerializer
    queryset = Vehicle.objects.annotate(
        last_odometer_km=Subquery(_last("pk").values("km")[:1]),
        last_odometer_on=Subquery(_last("pk").values("recorded_on")[:1]),
    )


class LabourLineSerializer(serializers.ModelSerializer):
    service_code = serializers.CharField(source="service.code")
    total = serializers.SerializerMethodField()

    class Meta:
        model = LabourLine
        fields = [
            "id",
            "service",
            "service_code",
            "description",
            "hours",
            "unit_price",
            "tva_rate",
            "approval",
            "total",
        ]

    def get_total(self, line):
        return str((line.hours * line.unit_price).quantize(MILLIME, ROUND_HALF_UP))


class PartLineSerializer(serializers.ModelSerializer):
    part_sku = serializers.CharField(source="part.sku")
    part_name = serializers.CharField(source="part.name")
    total = serializers.SerializerMethodField()

    class Meta:
        model = PartLine
        fields = [
            "id",
            "part",
            "part_sku",
            "part_name",
            "quantity",
            "unit_price",
            "tva_rate",
            "approval",
            "consumed",
            "total",
        ]

    def get_total(self, line):
        return str((line.quantity * line.unit_price).quantize(MILLIME, ROUND_HALF_UP))


class OrderCustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "full_name"]


class OrderVehicleSerializer(serializers.ModelSerializer):
    last_odometer_km = serializers.IntegerField(source="last_km", read_only=True)

    class Meta:
        model = Vehicle
        fields = ["id", "make", "model", "plate", "vin", "last_odometer_km"]


class ServiceOrderSerializer(serializers.ModelSerializer):
    customer = OrderCustomerSerializer()
    vehicle = serializers.SerializerMethodField()
    labour_lines = LabourLineSerializer(many=True)
    part_lines = PartLineSerializer(many=True)
    technicians = serializers.SerializerMethodField()
    appointment = serializers.IntegerField(source="appointment_id", allow_null=True)
    approved_by = serializers.CharField(source="approved_by.username", allow_null=True)
    totals = serializers.SerializerMethodField()

    class Meta:
        model = ServiceOrder
        fields = [
            "id",
            "status",
            "complaint",
            "odometer_in",
            "technician_notes",
            "labour_lines",
            "part_lines",
            "created_at",
            "completed_at",
            "customer",
            "vehicle",
            "technicians",
            "appointment",
            "approval_method",
            "approved_at",
            "approved_ip",
            "approved_by",
            "delivered_at",
            "totals",
        ]

    def get_vehicle(self, order):
        order.vehicle.last_km = order.vehicle_last_km
        return OrderVehicleSerializer(order.vehicle).data

    def get_technicians(self, order):
        return [{"id": user.id, "username": user.username} for user in order.technicians.all()]

    def get_totals(self, order):
        bases = defaultdict(Decimal)
        labour = parts = Decimal("0.000")
        for line in order.labour_lines.all():
            amount = (line.hours * line.unit_price).quantize(MILLIME, ROUND_HALF_UP)
            labour += amount
            bases[line.tva_rate] += amount
        for line in order.part_lines.all():
            amount = (line.quantity * line.unit_price).quantize(MILLIME, ROUND_HALF_UP)
            parts += amount
            bases[line.tva_rate] += amount
        tva = [
            {
                "rate": str(rate),
                "base": str(base),
                "amount": str((base * rate / 100).quantize(MILLIME, ROUND_HALF_UP)),
            }
            for rate, base in sorted(bases.items())
        ]
        total_tva = sum((Decimal(item["amount"]) for item in tva), Decimal("0.000"))
        return {
            "labour": str(labour),
            "parts": str(parts),
            "total_excl_tax": str(labour + parts),
            "tva": tva,
            "total_tva": str(total_tva),
            "total": str(labour + parts + total_tva),
        }


class ServiceOrderViewSet(viewsets.ModelViewSet):
    serializer_class = ServiceOrderSerializer
    queryset = (
        ServiceOrder.objects.select_related("customer", "vehicle", "approved_by")
        .prefetch_related(
            "technicians",
            Prefetch("labour_lines", queryset=LabourLine.objects.select_related("service")),
            Prefetch("part_lines", queryset=PartLine.objects.select_related("part")),
        )
        .annotate(vehicle_last_km=Subquery(_last("vehicle").values("km")[:1]))
    )


class ProtectedApi(APIView):
    def get(self, request):
        user = request.user
        role = "super_admin" if user.is_superuser else "customer"
        return Response({"id": user.id, "username": user.username, "role": role})
