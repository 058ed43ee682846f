"""Garage API: service orders (job cards), their lines and workflow, and vehicle history."""

from django.urls import path
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.network import client_ip
from config.filters import IdFilter
from config.routers import IdRouter
from config.serializers import NoInputSerializer
from garage.models import ServiceOrder
from garage.permissions import CUSTOMER_OR_ADMIN, EVERYONE, STAFF, SUPER_ADMIN, RolesByAction
from garage.selectors.orders import service_order_get, service_order_list, vehicle_history_get
from garage.serializers.orders import (
    AssignInputSerializer,
    LabourLineInputSerializer,
    LabourLineOutputSerializer,
    LabourLineUpdateInputSerializer,
    LinesDecideInputSerializer,
    NoteInputSerializer,
    PartLineInputSerializer,
    PartLineOutputSerializer,
    ServiceOrderAdminOutputSerializer,
    ServiceOrderCreateInputSerializer,
    ServiceOrderCustomerOutputSerializer,
    ServiceOrderTechnicianOutputSerializer,
    VehicleHistoryOutputSerializer,
)
from garage.services import orders as services

CUSTOMER = frozenset({Role.CUSTOMER})

OUTPUT_BY_ROLE = {
    Role.SUPER_ADMIN: ServiceOrderAdminOutputSerializer,
    Role.TECHNICIAN: ServiceOrderTechnicianOutputSerializer,
    Role.CUSTOMER: ServiceOrderCustomerOutputSerializer,
}


def _order_output(many: bool = False):
    """The documented order shape: one per role (the caller's role decides which is sent)."""
    return PolymorphicProxySerializer(
        component_name="ServiceOrderByRole",
        serializers=list(OUTPUT_BY_ROLE.values()),
        resource_type_field_name=None,
        many=many,
    )


ORDER = _order_output()
REFUSALS = {
    400: OpenApiResponse(description="Invalid input, or the order's status does not allow it."),
    403: OpenApiResponse(description="Your role may never do this."),
    404: OpenApiResponse(description="No such order among yours (or assigned to you)."),
}


class ServiceOrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=ServiceOrder.Status.choices)
    vehicle = IdFilter(field_name="vehicle_id")
    technician = IdFilter(field_name="technicians", help_text="A technician's id.")

    class Meta:
        model = ServiceOrder
        fields = ["status", "vehicle", "technician"]


class ServiceOrderViewSet(RolesByAction, viewsets.GenericViewSet):
    """Service orders: super-admins see all, technicians those assigned to them, customers theirs.

    Every workflow step is its own action calling the service that checks who may make it.
    """

    allowed_roles = EVERYONE
    roles_by_action = {
        "list": EVERYONE,
        "retrieve": EVERYONE,
        "create": SUPER_ADMIN,
        "labour_line_add": STAFF,
        "labour_line_update": STAFF,
        "part_line_add": STAFF,
        "lines_decide": CUSTOMER_OR_ADMIN,
        "assign": SUPER_ADMIN,
        "note_add": STAFF,
        "send_estimate": SUPER_ADMIN,
        "approve": CUSTOMER_OR_ADMIN,
        "decline": CUSTOMER,
        "start": STAFF,
        "wait_parts": STAFF,
        "resume": STAFF,
        "complete": STAFF,
        "deliver": SUPER_ADMIN,
        "cancel": SUPER_ADMIN,
    }
    filterset_class = ServiceOrderFilter
    ordering_fields = ["created_at", "status"]
    lookup_value_converter = "int"
    queryset = ServiceOrder.objects.none()  # the real one comes from the selector

    def get_queryset(self):
        return service_order_list(user=self.request.user)

    def _order(self, pk) -> ServiceOrder:
        return service_order_get(user=self.request.user, pk=pk)

    def _render(self, data, *, many: bool = False):
        return OUTPUT_BY_ROLE[self.request.user.role](data, many=many).data

    def _rendered_order(self, pk, status_code=status.HTTP_200_OK) -> Response:
        return Response(self._render(self._order(pk)), status=status_code)

    @extend_schema(responses=_order_output(many=True))
    def list(self, request):
        """The caller's orders (filters: status, vehicle, technician)."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._render(page, many=True))

    @extend_schema(responses={200: ORDER, 404: REFUSALS[404]})
    def retrieve(self, request, pk=None):
        """One order with its lines and (for the customer and the front desk) its totals."""
        return Response(self._render(self._order(pk)))

    @extend_schema(
        request=ServiceOrderCreateInputSerializer,
        responses={201: ServiceOrderAdminOutputSerializer, 400: REFUSALS[400]},
    )
    def create(self, request):
        """Open a draft order for a vehicle (super-admin); the odometer reading is recorded."""
        data = ServiceOrderCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.service_order_create(actor=request.user, **data.validated_data)
        return self._rendered_order(order.pk, status.HTTP_201_CREATED)

    # --- Lines, assignment, notes ----------------------------------------------------------------

    @extend_schema(
        request=LabourLineInputSerializer,
        responses={201: LabourLineOutputSerializer, **REFUSALS},
    )
    @action(detail=True, methods=["post"], url_path="labour-lines")
    def labour_line_add(self, request, pk=None):
        """Add labour: super-admin while estimating, assigned technician during the work."""
        data = LabourLineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = services.service_order_labour_line_add(
            actor=request.user, order=self._order(pk), **data.validated_data
        )
        return Response(LabourLineOutputSerializer(line).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=LabourLineUpdateInputSerializer,
        responses={200: LabourLineOutputSerializer, **REFUSALS},
    )
    @action(detail=True, methods=["patch"], url_path="labour-lines/<int:line_pk>")
    def labour_line_update(self, request, pk=None, line_pk=None):
        """Change the hours of a labour line (assigned technician during the work, super-admin)."""
        data = LabourLineUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = services.service_order_labour_line_update(
            actor=request.user, order=self._order(pk), line_id=int(line_pk), **data.validated_data
        )
        return Response(LabourLineOutputSerializer(line).data)

    @extend_schema(
        request=PartLineInputSerializer,
        responses={201: PartLineOutputSerializer, **REFUSALS},
    )
    @action(detail=True, methods=["post"], url_path="part-lines")
    def part_line_add(self, request, pk=None):
        """Add a part: taken from stock at once during the work, at the start for an estimate."""
        data = PartLineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = services.service_order_part_line_add(
            actor=request.user, order=self._order(pk), **data.validated_data
        )
        return Response(PartLineOutputSerializer(line).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LinesDecideInputSerializer, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"], url_path="lines/decide")
    def lines_decide(self, request, pk=None):
        """Approve or decline estimate lines one by one while the estimate is sent."""
        data = LinesDecideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.service_order_lines_decide(
            actor=request.user, order=self._order(pk), **data.validated_data
        )
        return self._rendered_order(pk)

    @extend_schema(request=AssignInputSerializer, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Set the order's technicians (active technician-role users only)."""
        data = AssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.service_order_assign(
            actor=request.user,
            order=self._order(pk),
            technician_ids=data.validated_data["technicians"],
        )
        return self._rendered_order(pk)

    @extend_schema(request=NoteInputSerializer, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"], url_path="notes")
    def note_add(self, request, pk=None):
        """Append a note, stamped with the time and the author's username."""
        data = NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.service_order_note_add(
            actor=request.user, order=self._order(pk), text=data.validated_data["text"]
        )
        return self._rendered_order(pk)

    # --- Workflow --------------------------------------------------------------------------------

    def _transition(self, pk, service, **extra) -> Response:
        NoInputSerializer(data=self.request.data).is_valid(raise_exception=True)
        service(actor=self.request.user, order=self._order(pk), **extra)
        return self._rendered_order(pk)

    @extend_schema(request=None, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"], url_path="send-estimate")
    def send_estimate(self, request, pk=None):
        """draft → estimate_sent (super-admin; the estimate needs at least one line)."""
        return self._transition(pk, services.service_order_send_estimate)

    @extend_schema(request=None, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """estimate_sent → approved: by the customer in the app, or a verbal approval recorded."""
        return self._transition(pk, services.service_order_approve, ip=client_ip(request))

    @extend_schema(request=None, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """estimate_sent → cancelled: the customer declines the estimate."""
        return self._transition(pk, services.service_order_decline)

    @extend_schema(request=None, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """approved → in_progress: the estimate's parts are taken from stock."""
        return self._transition(pk, services.service_order_start)

    @extend_schema(request=None, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"], url_path="wait-parts")
    def wait_parts(self, request, pk=None):
        """in_progress → waiting_parts."""
        return self._transition(pk, services.service_order_wait_parts)

    @extend_schema(request=None, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """waiting_parts → in_progress."""
        return self._transition(pk, services.service_order_resume)

    @extend_schema(request=None, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """in_progress → completed: sets the vehicle's next service reminder."""
        return self._transition(pk, services.service_order_complete)

    @extend_schema(request=None, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"])
    def deliver(self, request, pk=None):
        """completed → delivered (super-admin)."""
        return self._transition(pk, services.service_order_deliver)

    @extend_schema(request=None, responses={200: ORDER, **REFUSALS})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Any status before completed → cancelled (super-admin)."""
        return self._transition(pk, services.service_order_cancel)


class VehicleHistoryApi(APIView):
    """A vehicle's completed work and next service reminder: its owner and super-admins."""

    allowed_roles = CUSTOMER_OR_ADMIN

    @extend_schema(
        responses={
            200: VehicleHistoryOutputSerializer,
            403: REFUSALS[403],
            404: OpenApiResponse(description="No such vehicle among yours."),
        },
    )
    def get(self, request, pk):
        vehicle = vehicle_history_get(user=request.user, pk=pk)
        return Response(VehicleHistoryOutputSerializer(vehicle).data)


router = IdRouter(use_regex_path=False)
router.register("service-orders", ServiceOrderViewSet, basename="service-order")

urlpatterns = [
    *router.urls,
    path("vehicles/<int:pk>/history/", VehicleHistoryApi.as_view(), name="vehicle-history"),
]
