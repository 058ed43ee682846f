"""Garage API: vehicles, odometer readings and registration documents."""

import unicodedata
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import storages
from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import ApplicationError
from config.routers import IdRouter
from garage.models import Vehicle
from garage.permissions import CUSTOMER_OR_ADMIN, RolesByAction
from garage.selectors.customers import customer_of_user
from garage.selectors.vehicles import (
    VehicleFilter,
    odometer_reading_list,
    vehicle_document_get,
    vehicle_document_list,
    vehicle_get,
    vehicle_list,
    vehicle_search,
)
from garage.serializers.vehicles import (
    OdometerInputSerializer,
    OdometerReadingOutputSerializer,
    VehicleAdminInputSerializer,
    VehicleDocumentOutputSerializer,
    VehicleDocumentUploadInputSerializer,
    VehicleInputSerializer,
    VehicleOutputSerializer,
    VehicleSearchInputSerializer,
)
from garage.services.vehicles import (
    document_size_check,
    odometer_reading_add,
    vehicle_create,
    vehicle_document_delete,
    vehicle_document_upload,
    vehicle_update,
)
from privacy.services import access_record_create


class VehicleViewSet(RolesByAction, viewsets.GenericViewSet):
    """Vehicles. Customers: their own (always owned by their customer record); super-admins: all.

    Technicians reach vehicles only through the service orders assigned to them.
    """

    allowed_roles = CUSTOMER_OR_ADMIN
    roles_by_action = {
        "list": CUSTOMER_OR_ADMIN,
        "retrieve": CUSTOMER_OR_ADMIN,
        "create": CUSTOMER_OR_ADMIN,
        "partial_update": CUSTOMER_OR_ADMIN,
        "search": CUSTOMER_OR_ADMIN,
    }
    serializer_class = VehicleOutputSerializer
    filterset_class = VehicleFilter
    ordering_fields = ["created_at", "year"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Vehicle.objects.none()
        return vehicle_list(user=self.request.user)

    def _input_serializer_class(self):
        if self.request.user.is_super_admin:
            return VehicleAdminInputSerializer
        return VehicleInputSerializer

    @extend_schema(responses=VehicleOutputSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(VehicleOutputSerializer(page, many=True).data)

    @extend_schema(
        request=VehicleSearchInputSerializer,
        responses=VehicleOutputSerializer(many=True),
        description="Exact search by plate (either spelling) or VIN, through the blind "
        "indexes. Same rows and roles as the list.",
    )
    @action(detail=False, methods=["post"])
    def search(self, request):
        data = VehicleSearchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        page = self.paginate_queryset(
            vehicle_search(user=request.user, filters=data.validated_data)
        )
        return self.get_paginated_response(VehicleOutputSerializer(page, many=True).data)

    @extend_schema(responses=VehicleOutputSerializer)
    def retrieve(self, request, pk=None):
        return Response(VehicleOutputSerializer(vehicle_get(user=request.user, pk=pk)).data)

    @extend_schema(
        request=VehicleAdminInputSerializer,
        responses={201: VehicleOutputSerializer},
        description="Customers register vehicles for themselves (no `customer` field); "
        "super-admins choose the `customer`. A plate or VIN already registered is a 400.",
    )
    def create(self, request):
        data = self._input_serializer_class()(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if not request.user.is_super_admin:
            values["customer"] = customer_of_user(user=request.user)
            if values["customer"] is None:
                raise ApplicationError(
                    "Your account has no customer record yet; ask the garage to link it.",
                    code="no_customer_record",
                    status_code=403,
                )
        vehicle = vehicle_create(**values)
        return Response(
            VehicleOutputSerializer(vehicle_get(user=request.user, pk=vehicle.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=VehicleAdminInputSerializer,
        responses=VehicleOutputSerializer,
        description="Only super-admins may change `customer`. The next service due and the "
        "odometer are read-only here.",
    )
    def partial_update(self, request, pk=None):
        vehicle = vehicle_get(user=request.user, pk=pk)
        data = self._input_serializer_class()(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        vehicle_update(vehicle=vehicle, actor=request.user, data=data.validated_data)
        return Response(VehicleOutputSerializer(vehicle_get(user=request.user, pk=pk)).data)


class VehicleOdometerApi(GenericAPIView):
    """A vehicle's odometer readings: list them, or report a new one."""

    allowed_roles = CUSTOMER_OR_ADMIN
    serializer_class = OdometerReadingOutputSerializer
    filter_backends = []

    @extend_schema(responses=OdometerReadingOutputSerializer(many=True))
    def get(self, request, vehicle_pk):
        vehicle = vehicle_get(user=request.user, pk=vehicle_pk)
        page = self.paginate_queryset(odometer_reading_list(vehicle=vehicle))
        return self.get_paginated_response(OdometerReadingOutputSerializer(page, many=True).data)

    @extend_schema(
        request=OdometerInputSerializer,
        responses={
            201: OdometerReadingOutputSerializer,
            400: OpenApiResponse(description="Invalid input; code odometer_decrease if lower."),
            403: OpenApiResponse(description="A correction by anyone but a super-admin."),
        },
    )
    def post(self, request, vehicle_pk):
        vehicle = vehicle_get(user=request.user, pk=vehicle_pk)
        data = OdometerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reading = odometer_reading_add(vehicle=vehicle, actor=request.user, **data.validated_data)
        return Response(
            OdometerReadingOutputSerializer(reading).data, status=status.HTTP_201_CREATED
        )


class VehicleDocumentListApi(GenericAPIView):
    """A vehicle's documents (carte grise): list them, or upload one."""

    allowed_roles = CUSTOMER_OR_ADMIN
    serializer_class = VehicleDocumentOutputSerializer
    parser_classes = [MultiPartParser]
    filter_backends = []

    @extend_schema(responses=VehicleDocumentOutputSerializer(many=True))
    def get(self, request, vehicle_pk):
        vehicle = vehicle_get(user=request.user, pk=vehicle_pk)
        page = self.paginate_queryset(vehicle_document_list(vehicle=vehicle))
        return self.get_paginated_response(VehicleDocumentOutputSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": VehicleDocumentUploadInputSerializer},
        responses={
            201: VehicleDocumentOutputSerializer,
            400: OpenApiResponse(description="Not a PDF, JPEG or PNG: code invalid_file_type."),
            413: OpenApiResponse(
                description="Larger than 10 MB: code file_too_large "
                "(request_too_large for a whole body past the upload limit)."
            ),
        },
    )
    def post(self, request, vehicle_pk):
        vehicle = vehicle_get(user=request.user, pk=vehicle_pk)
        # Before the body is parsed: the only upload handler keeps files in memory and drops a
        # body larger than FILE_UPLOAD_MAX_MEMORY_SIZE, which would then look like "no file".
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
            document_size_check(length)
        data = VehicleDocumentUploadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = vehicle_document_upload(
            vehicle=vehicle,
            upload=data.validated_data["file"],
            kind=data.validated_data["kind"],
            actor=request.user,
        )
        return Response(
            VehicleDocumentOutputSerializer(document).data, status=status.HTTP_201_CREATED
        )


class VehicleDocumentDetailApi(APIView):
    """One document of a vehicle: delete it (the encrypted file is removed from disk too)."""

    allowed_roles = CUSTOMER_OR_ADMIN

    @extend_schema(responses={204: OpenApiResponse(description="Deleted.")})
    def delete(self, request, vehicle_pk, pk):
        vehicle = vehicle_get(user=request.user, pk=vehicle_pk)
        vehicle_document_delete(document=vehicle_document_get(vehicle=vehicle, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _ascii_fallback(name: str) -> str:
    """An ASCII approximation of a file name for clients that ignore filename*."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    safe = "".join(ch if ch.isalnum() or ch in " ._-()" else "_" for ch in ascii_name).strip()
    return safe if safe.strip("._ ") else "document"


def content_disposition(name: str) -> str:
    """`attachment` with a quoted-safe filename, plus RFC 6266 filename* when not ASCII."""
    fallback = _ascii_fallback(name)
    header = f'attachment; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def _stream(first: bytes, chunks):
    """Yield the decrypted chunks; closing the response closes the encrypted file."""
    try:
        yield first
        yield from chunks
    finally:
        chunks.close()


class VehicleDocumentDownloadApi(APIView):
    """Download a document, decrypted as a stream (bounded memory), never cached or sniffed."""

    allowed_roles = CUSTOMER_OR_ADMIN

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
        }
    )
    def get(self, request, vehicle_pk, pk):
        vehicle = vehicle_get(user=request.user, pk=vehicle_pk)
        document = vehicle_document_get(vehicle=vehicle, pk=pk)
        stored = document.file
        if request.user.is_super_admin:  # staff reading a customer's document, not the owner
            access_record_create(
                request=request,
                subject=document,
                action="document.download",
                subject_user_id=vehicle.customer.user_id,
            )
        chunks = storages["encrypted"].iter_plaintext(stored.file.name)
        # Open and authenticate the first chunk before any header is sent: a missing or
        # tampered file fails as a clean error response rather than a truncated download.
        first = next(chunks, b"")
        response = StreamingHttpResponse(_stream(first, chunks), content_type=stored.content_type)
        response["Content-Length"] = str(stored.size)
        response["Content-Disposition"] = content_disposition(stored.original_name)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response


router = IdRouter()
router.register("vehicles", VehicleViewSet, basename="vehicle")

urlpatterns = [
    *router.urls,
    path(
        "vehicles/<int:vehicle_pk>/odometer/",
        VehicleOdometerApi.as_view(),
        name="vehicle-odometer",
    ),
    path(
        "vehicles/<int:vehicle_pk>/documents/",
        VehicleDocumentListApi.as_view(),
        name="vehicle-document-list",
    ),
    path(
        "vehicles/<int:vehicle_pk>/documents/<int:pk>/",
        VehicleDocumentDetailApi.as_view(),
        name="vehicle-document-detail",
    ),
    path(
        "vehicles/<int:vehicle_pk>/documents/<int:pk>/download/",
        VehicleDocumentDownloadApi.as_view(),
        name="vehicle-document-download",
    ),
]
