"""Garage API: appointments, slot availability and the appointment workflow."""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from accounts.models import Role
from config.exceptions import ApplicationError
from config.filters import FilterBackend
from config.routers import IdRouter
from config.serializers import NoInputSerializer
from garage.models import Appointment
from garage.permissions import CUSTOMER_OR_ADMIN, EVERYONE, SUPER_ADMIN, RolesByAction
from garage.selectors import appointments as selectors
from garage.serializers.appointments import (
    AppointmentBookForCustomerInputSerializer,
    AppointmentBookInputSerializer,
    AppointmentCheckInInputSerializer,
    AppointmentCheckInOutputSerializer,
    AppointmentOutputSerializer,
    AvailabilityQuerySerializer,
    AvailabilitySlotSerializer,
)
from garage.services import appointments as services

INVALID_TRANSITION = OpenApiResponse(
    description="`invalid_transition`: the appointment's status does not allow this step."
)


class AppointmentFilter(django_filters.FilterSet):
    date = django_filters.DateFilter(
        field_name="slot__start", lookup_expr="date", help_text="Slot day (YYYY-MM-DD, Tunis)."
    )

    class Meta:
        model = Appointment
        fields = ["status", "date"]


@extend_schema_view(
    list=extend_schema(description="Customers: their own appointments. Super-admins: all."),
    retrieve=extend_schema(description="One appointment (another customer's: 404)."),
)
class AppointmentViewSet(
    RolesByAction, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Appointments: customers book and cancel their own; the front desk runs the day.

    Technicians have no access: they work from service orders.
    """

    allowed_roles = EVERYONE
    roles_by_action = {
        "list": CUSTOMER_OR_ADMIN,
        "retrieve": CUSTOMER_OR_ADMIN,
        "create": CUSTOMER_OR_ADMIN,
        "cancel": CUSTOMER_OR_ADMIN,
        "availability": EVERYONE,
        "confirm": SUPER_ADMIN,
        "no_show": SUPER_ADMIN,
        "check_in": SUPER_ADMIN,
    }
    http_method_names = ["get", "post", "head", "options"]
    serializer_class = AppointmentOutputSerializer
    filter_backends = [FilterBackend, OrderingFilter]
    filterset_class = AppointmentFilter
    ordering_fields = ["start", "created_at"]
    ordering = ["start", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appointment.objects.none()
        return selectors.appointment_list(user=self.request.user)

    def get_object(self):
        appointment = selectors.appointment_get(user=self.request.user, pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, appointment)
        return appointment

    def _render(self, appointment, status_code=status.HTTP_200_OK):
        # Re-read through the selector: the body always has the same shape as list and retrieve.
        fresh = selectors.appointment_get(user=self.request.user, pk=appointment.pk)
        return Response(AppointmentOutputSerializer(fresh).data, status=status_code)

    @extend_schema(
        request=AppointmentBookForCustomerInputSerializer,
        responses={
            201: AppointmentOutputSerializer,
            400: OpenApiResponse(
                description="Invalid input (`vehicle`: unknown vehicle; `start`: not a slot), "
                "`slot_full` or `already_booked`."
            ),
        },
        description="Book a slot. Customers send `vehicle`, `start`, `services`, `notes` for "
        "themselves; super-admins also send `customer`.",
    )
    def create(self, request):
        is_admin = request.user.role == Role.SUPER_ADMIN
        serializer_class = (
            AppointmentBookForCustomerInputSerializer
            if is_admin
            else AppointmentBookInputSerializer
        )
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        customer = selectors.booking_customer_get(user=request.user, pk=values.get("customer"))
        if is_admin and customer is None:
            raise ApplicationError(
                "Invalid input.", code="invalid", extra={"customer": ["Unknown customer."]}
            )
        appointment = services.appointment_book(
            actor=request.user,
            customer=customer,
            vehicle=selectors.booking_vehicle_get(customer=customer, pk=values["vehicle"]),
            start=values["start"],
            services=values.get("services", []),
            notes=values["notes"],
        )
        return self._render(appointment, status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[AvailabilityQuerySerializer],
        responses={200: AvailabilitySlotSerializer(many=True), 400: OpenApiResponse()},
        description="The slots of a day with the bays left (empty on closing days).",
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def availability(self, request):
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        slots = selectors.slot_availability_list(day=query.validated_data["date"])
        return Response(AvailabilitySlotSerializer(slots, many=True).data)

    @extend_schema(
        request=None,
        responses={200: AppointmentOutputSerializer, 400: INVALID_TRANSITION},
        description="requested → confirmed.",
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        appointment = services.appointment_confirm(
            actor=request.user, appointment=self.get_object()
        )
        return self._render(appointment)

    @extend_schema(
        request=None,
        responses={200: AppointmentOutputSerializer, 400: INVALID_TRANSITION},
        description="requested or confirmed → cancelled (the customer's own, or any for "
        "super-admins); frees the bay.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        appointment = services.appointment_cancel(actor=request.user, appointment=self.get_object())
        return self._render(appointment)

    @extend_schema(
        request=None,
        responses={200: AppointmentOutputSerializer, 400: INVALID_TRANSITION},
        description="confirmed → no-show, once the slot has begun; frees the bay.",
    )
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        NoInputSerializer(data=request.data).is_valid(raise_exception=True)
        appointment = services.appointment_no_show(
            actor=request.user, appointment=self.get_object()
        )
        return self._render(appointment)

    @extend_schema(
        request=AppointmentCheckInInputSerializer,
        responses={200: AppointmentCheckInOutputSerializer, 400: INVALID_TRANSITION},
        description="confirmed → checked in; opens a draft service order with the notes as "
        "the complaint and the optional odometer reading.",
    )
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        appointment = self.get_object()
        data = AppointmentCheckInInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.appointment_check_in(
            actor=request.user,
            appointment=appointment,
            odometer_in=data.validated_data.get("odometer_in"),
        )
        fresh = selectors.appointment_get(user=request.user, pk=appointment.pk)
        return Response(
            {
                "appointment": AppointmentOutputSerializer(fresh).data,
                "service_order": order.pk,
            }
        )


router = IdRouter()
router.register("appointments", AppointmentViewSet, basename="appointment")

urlpatterns = router.urls
