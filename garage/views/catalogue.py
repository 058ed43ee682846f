"""Garage API: the service catalogue, parts and stock movements.

Neither services nor parts are ever deleted (past orders, invoices and movements refer to them):
DELETE answers 405 and `PATCH {"is_active": false}` retires an entry instead. PUT is not offered;
PATCH changes any subset of the writable fields.
"""

from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.response import Response

from accounts.models import Role
from config.filters import FilterBackend
from config.routers import IdRouter
from garage.models import Part, Service
from garage.permissions import EVERYONE, STAFF, SUPER_ADMIN, RolesByAction
from garage.selectors import catalogue as selectors
from garage.serializers.catalogue import (
    PartInputSerializer,
    PartOutputSerializer,
    PartTechnicianOutputSerializer,
    ServiceInputSerializer,
    ServiceOutputSerializer,
    StockMovementInputSerializer,
    StockMovementOutputSerializer,
)
from garage.services import catalogue as services

NO_DELETE = ["get", "post", "patch", "head", "options"]
BAD_INPUT = OpenApiResponse(description="Invalid input: `errors` holds the field errors.")


def _part_by_role(many: bool = False):
    """A part as the caller's role sees it: with prices (super-admin) or without (technician)."""
    return PolymorphicProxySerializer(
        component_name="PartByRole",
        serializers=[PartOutputSerializer, PartTechnicianOutputSerializer],
        resource_type_field_name=None,
        many=many,
    )


@extend_schema_view(
    list=extend_schema(
        description="Active services for everyone; super-admins also see inactive ones "
        "(`?is_active=false`)."
    ),
    retrieve=extend_schema(description="One service (inactive ones: super-admins only)."),
)
class ServiceViewSet(
    RolesByAction, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The service catalogue: read by every role, maintained by super-admins."""

    allowed_roles = EVERYONE
    roles_by_action = {
        "list": EVERYONE,
        "retrieve": EVERYONE,
        "create": SUPER_ADMIN,
        "partial_update": SUPER_ADMIN,
    }
    http_method_names = NO_DELETE
    serializer_class = ServiceOutputSerializer
    filter_backends = [FilterBackend, SearchFilter, OrderingFilter]
    filterset_fields = ["is_active"]
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "labour_price"]
    ordering = ["code"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Service.objects.none()
        return selectors.service_list(user=self.request.user)

    def get_object(self):
        service = selectors.service_get(user=self.request.user, pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, service)
        return service

    @extend_schema(
        request=ServiceInputSerializer, responses={201: ServiceOutputSerializer, 400: BAD_INPUT}
    )
    def create(self, request):
        data = ServiceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        service = services.service_create(**data.validated_data)
        return Response(ServiceOutputSerializer(service).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ServiceInputSerializer(partial=True),
        responses={200: ServiceOutputSerializer, 400: BAD_INPUT},
        description='Change a service; `{"is_active": false}` retires it (no deletion).',
    )
    def partial_update(self, request, pk=None):
        service = self.get_object()
        data = ServiceInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        service = services.service_update(service=service, data=data.validated_data)
        return Response(ServiceOutputSerializer(service).data)


@extend_schema_view(
    list=extend_schema(
        description="Super-admins: every part. Technicians: active parts, without prices "
        "(`unit_price` and `tva_rate` are left out).",
        responses=_part_by_role(many=True),
    ),
    retrieve=extend_schema(
        description="One part; technicians get it without prices.", responses=_part_by_role()
    ),
)
class PartViewSet(
    RolesByAction, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Parts: super-admins maintain them; technicians look them up to put them on orders.

    Stock is never written directly: it changes only through stock movements.
    """

    allowed_roles = STAFF
    roles_by_action = {
        "list": STAFF,
        "retrieve": STAFF,
        "low_stock": STAFF,
        "create": SUPER_ADMIN,
        "partial_update": SUPER_ADMIN,
        "movements": SUPER_ADMIN,
    }
    http_method_names = NO_DELETE
    filter_backends = [FilterBackend, SearchFilter, OrderingFilter]
    filterset_fields = ["is_active"]
    search_fields = ["sku", "name"]
    # Not unit_price: ordering by it would let technicians rank prices they are not shown.
    ordering_fields = ["sku", "name", "stock"]
    ordering = ["sku"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Part.objects.none()
        return selectors.part_list(user=self.request.user)

    def get_object(self):
        part = selectors.part_get(user=self.request.user, pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, part)
        return part

    def get_serializer_class(self):
        if getattr(self.request.user, "role", None) == Role.SUPER_ADMIN:
            return PartOutputSerializer
        if getattr(self, "swagger_fake_view", False):
            return PartOutputSerializer
        return PartTechnicianOutputSerializer

    @extend_schema(
        request=PartInputSerializer, responses={201: PartOutputSerializer, 400: BAD_INPUT}
    )
    def create(self, request):
        data = PartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        part = services.part_create(**data.validated_data)
        return Response(PartOutputSerializer(part).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=PartInputSerializer(partial=True),
        responses={200: PartOutputSerializer, 400: BAD_INPUT},
        description='Change a part (not its stock); `{"is_active": false}` retires it.',
    )
    def partial_update(self, request, pk=None):
        part = self.get_object()
        data = PartInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        part = services.part_update(part=part, data=data.validated_data)
        return Response(PartOutputSerializer(part).data)

    @extend_schema(
        responses=_part_by_role(many=True),
        description="Active parts whose stock is at or below their reorder level, emptiest "
        "first. Technicians get them without prices.",
    )
    @action(detail=False, methods=["get"], url_path="low-stock", filter_backends=[])
    def low_stock(self, request):
        parts = self.paginate_queryset(selectors.part_low_stock_list(user=request.user))
        return self.get_paginated_response(self.get_serializer(parts, many=True).data)

    @extend_schema(
        methods=["GET"],
        responses=StockMovementOutputSerializer(many=True),
        description="The part's stock movements, newest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=StockMovementInputSerializer,
        responses={
            201: StockMovementOutputSerializer,
            400: OpenApiResponse(
                description="Invalid input, or `insufficient_stock` when the stock would go "
                "below zero."
            ),
        },
        description="Record goods received (`in`) or a stock-take correction (`adjustment`). "
        "Parts used on service orders are recorded by the service-order workflow.",
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def movements(self, request, pk=None):
        part = self.get_object()
        if request.method == "GET":
            rows = selectors.stock_movement_list(user=request.user, part=part)
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(StockMovementOutputSerializer(page, many=True).data)
        data = StockMovementInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        movement = services.stock_movement_record(
            part=part, actor=request.user, **data.validated_data
        )
        return Response(
            StockMovementOutputSerializer(movement).data, status=status.HTTP_201_CREATED
        )


router = IdRouter()
router.register("services", ServiceViewSet, basename="catalogue-service")
router.register("parts", PartViewSet, basename="part")

urlpatterns = router.urls
