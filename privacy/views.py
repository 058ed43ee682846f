"""Data-subject rights: export, erasure, consent, the privacy notice and the access log."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_ratelimit.core import get_usage
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ALL_ROLES, PUBLIC, SUPER_ADMIN
from config.exceptions import ApplicationError, Throttled
from privacy import selectors, services
from privacy.serializers import (
    AccessRecordSerializer,
    ConsentInputSerializer,
    ConsentSerializer,
    ConsentStateSerializer,
    EraseInputSerializer,
    ErasureResultSerializer,
    ExportDocumentSerializer,
    PrivacyNoticeSerializer,
)

_EXPORT_SCHEMA = extend_schema(
    parameters=[
        OpenApiParameter(
            "format", str, enum=["json", "zip"], description="zip adds the documents, decrypted"
        )
    ],
    responses={
        (200, "application/json"): ExportDocumentSerializer,
        (200, "application/zip"): OpenApiTypes.BINARY,
        429: OpenApiResponse(description="Too many exports; see Retry-After."),
    },
)


def _export_response(request, subject) -> StreamingHttpResponse:
    """Stream the export of `subject`, rate-limited per requester and recorded as an access."""
    usage = get_usage(
        request,
        group="export",
        key=lambda group, req: str(req.user.pk),
        rate=settings.EXPORT_RATE,
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        raise Throttled(max(usage["time_left"], 1))
    services.access_record_create(
        request=request, subject=subject, action="personal_data.export", subject_user_id=subject.pk
    )
    stamp = timezone.now().strftime("%Y%m%d")
    if request.query_params.get("format") == "zip":
        response = StreamingHttpResponse(
            services.export_zip_stream(user=subject), content_type="application/zip"
        )
        filename = f"ecar-personal-data-{stamp}.zip"
    else:
        response = StreamingHttpResponse(
            services.export_stream(user=subject), content_type="application/json"
        )
        filename = f"ecar-personal-data-{stamp}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _require_fresh_authentication(request) -> None:
    """Erasure is irreversible: a recent login or the caller's password, not any valid token."""
    data = EraseInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    if not services.fresh_authentication(
        request=request, password=data.validated_data.get("password")
    ):
        raise ApplicationError(
            "Erasing data needs a fresh login: log in again (then call this within 5 minutes) "
            "or send your current password.",
            code="reauthentication_required",
            status_code=403,
        )


class DownloadUserDataApi(APIView):
    """Everything held about the caller, as a JSON (or zip) attachment."""

    allowed_roles = ALL_ROLES

    @_EXPORT_SCHEMA
    def get(self, request):
        return _export_response(request, request.user)


class DeleteUserDataApi(APIView):
    """Erase the caller's personal data (needs a fresh login or the password)."""

    allowed_roles = ALL_ROLES

    @extend_schema(
        request=EraseInputSerializer,
        responses={
            200: ErasureResultSerializer,
            403: OpenApiResponse(description="Re-authenticate: log in again or send password."),
        },
    )
    def post(self, request):
        _require_fresh_authentication(request)
        return Response(services.person_erase(request=request, user=request.user))


class UserExportApi(APIView):
    """Super-admins: export a person's data on their behalf (a request received on paper)."""

    allowed_roles = SUPER_ADMIN

    @_EXPORT_SCHEMA
    def get(self, request, pk):
        return _export_response(request, get_object_or_404(get_user_model(), pk=pk))


class UserEraseApi(APIView):
    """Super-admins: erase a person's data on their behalf."""

    allowed_roles = SUPER_ADMIN

    @extend_schema(
        request=EraseInputSerializer,
        responses={
            200: ErasureResultSerializer,
            403: OpenApiResponse(description="Re-authenticate: log in again or send password."),
        },
    )
    def post(self, request, pk):
        _require_fresh_authentication(request)
        subject = get_object_or_404(get_user_model(), pk=pk)
        return Response(services.person_erase(request=request, user=subject))


class PrivacyNoticeApi(APIView):
    """The privacy notice in force."""

    allowed_roles = PUBLIC
    authentication_classes = []

    @extend_schema(
        responses={
            200: PrivacyNoticeSerializer,
            404: OpenApiResponse(description="No privacy notice is published yet."),
        }
    )
    def get(self, request):
        notice = selectors.privacy_notice_current()
        if notice is None:
            raise ApplicationError(
                "No privacy notice is published.", code="not_found", status_code=404
            )
        return Response(PrivacyNoticeSerializer(notice).data)


class ConsentApi(APIView):
    """The caller's consents: read them, give or withdraw one."""

    allowed_roles = ALL_ROLES

    @extend_schema(responses={200: ConsentStateSerializer})
    def get(self, request):
        return Response(self._state(request.user))

    @extend_schema(request=ConsentInputSerializer, responses={201: ConsentStateSerializer})
    def post(self, request):
        data = ConsentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.consent_record(request=request, user=request.user, **data.validated_data)
        return Response(self._state(request.user), status=201)

    @staticmethod
    def _state(user) -> dict:
        current = selectors.consent_current(user=user)
        return {
            "current": {
                purpose: ConsentSerializer(consent).data if consent else None
                for purpose, consent in current.items()
            },
            "history": ConsentSerializer(selectors.consent_list(user=user), many=True).data,
        }


class AccessLogApi(generics.ListAPIView):
    """Who read the caller's personal data, and when."""

    allowed_roles = ALL_ROLES
    serializer_class = AccessRecordSerializer
    filter_backends = []

    def get_queryset(self):
        return selectors.access_record_list(user=self.request.user)
