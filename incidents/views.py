"""Super-admin API: security alerts and incidents, each action a sub-route."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import SUPER_ADMIN
from incidents import selectors, services
from incidents.models import Incident, SecurityAlert
from incidents.report import report_data, report_pdf
from incidents.serializers import (
    AffectedSerializer,
    AlertFilterSerializer,
    AlertSerializer,
    BlockInputSerializer,
    BlockSerializer,
    CountSerializer,
    DisableInputSerializer,
    IncidentCreateSerializer,
    IncidentFilterSerializer,
    IncidentSerializer,
    NotifyInputSerializer,
    NotifyResultSerializer,
    RotationSerializer,
    TimelineItemSerializer,
    UsersInputSerializer,
)


def _filters(serializer_class, request) -> dict:
    data = serializer_class(data=request.query_params)
    data.is_valid(raise_exception=True)
    return data.validated_data


CONFLICT = OpenApiResponse(description="Not allowed in its current status (code invalid_status).")


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Security alerts from the detectors, newest first; triage through the actions."""

    allowed_roles = SUPER_ADMIN
    serializer_class = AlertSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SecurityAlert.objects.none()
        if self.action == "list":
            return selectors.alert_list(filters=_filters(AlertFilterSerializer, self.request))
        return selectors.alert_list()

    @extend_schema(parameters=[AlertFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: AlertSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        alert = services.alert_acknowledge(alert=self.get_object(), user=request.user)
        return Response(AlertSerializer(alert).data)

    @extend_schema(request=None, responses={200: AlertSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        alert = services.alert_close(alert=self.get_object(), user=request.user)
        return Response(AlertSerializer(alert).data)

    @extend_schema(
        request=None,
        responses={
            201: IncidentSerializer,
            400: OpenApiResponse(
                description="The alert already has an incident (alert_has_incident)."
            ),
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"], url_path="open-incident")
    def open_incident(self, request, pk=None):
        incident = services.incident_open_from_alert(user=request.user, alert=self.get_object())
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Incidents: open, contain, list who was affected, notify them, report to the INPDP."""

    allowed_roles = SUPER_ADMIN
    serializer_class = IncidentSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Incident.objects.none()
        if self.action == "list":
            return selectors.incident_list(filters=_filters(IncidentFilterSerializer, self.request))
        return selectors.incident_list()

    @extend_schema(parameters=[IncidentFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=IncidentCreateSerializer, responses={201: IncidentSerializer})
    def create(self, request):
        data = IncidentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = services.incident_open(user=request.user, **data.validated_data)
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UsersInputSerializer, responses={200: CountSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="revoke-sessions")
    def revoke_sessions(self, request, pk=None):
        data = UsersInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = services.incident_revoke_sessions(
            request=request, incident=self.get_object(), **data.validated_data
        )
        return Response({"count": count})

    @extend_schema(request=DisableInputSerializer, responses={200: CountSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="disable-accounts")
    def disable_accounts(self, request, pk=None):
        data = DisableInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = services.incident_disable_accounts(
            request=request, incident=self.get_object(), **data.validated_data
        )
        return Response({"count": count})

    @extend_schema(request=UsersInputSerializer, responses={200: CountSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="force-password-change")
    def force_password_change(self, request, pk=None):
        data = UsersInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = services.incident_force_password_change(
            request=request, incident=self.get_object(), **data.validated_data
        )
        return Response({"count": count})

    @extend_schema(request=None, responses={200: RotationSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="rotate-keys")
    def rotate_keys(self, request, pk=None):
        details = services.incident_rotate_keys(request=request, incident=self.get_object())
        return Response(RotationSerializer(details).data)

    @extend_schema(request=BlockInputSerializer, responses={201: BlockSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="block-network")
    def block_network(self, request, pk=None):
        data = BlockInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        block = services.incident_block_network(
            request=request, incident=self.get_object(), **data.validated_data
        )
        return Response(BlockSerializer(block).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: IncidentSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        incident = services.incident_close(user=request.user, incident=self.get_object())
        return Response(IncidentSerializer(incident).data)

    @extend_schema(responses={200: AffectedSerializer})
    @action(detail=True, methods=["get"])
    def affected(self, request, pk=None):
        people = selectors.incident_affected(incident=self.get_object())
        ordered = sorted(
            people.values(), key=lambda p: (p.user_id is None, p.user_id or 0, p.customer_id or 0)
        )
        return Response(AffectedSerializer({"count": len(ordered), "people": ordered}).data)

    @extend_schema(responses={200: TimelineItemSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def timeline(self, request, pk=None):
        items = selectors.incident_timeline(incident=self.get_object())
        return Response(TimelineItemSerializer(items, many=True).data)

    @extend_schema(
        request=NotifyInputSerializer, responses={200: NotifyResultSerializer, 409: CONFLICT}
    )
    @action(detail=True, methods=["post"])
    def notify(self, request, pk=None):
        data = NotifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.incident_notify(
            request=request, incident=self.get_object(), **data.validated_data
        )
        return Response(NotifyResultSerializer(result).data)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["pdf", "json"])],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "application/json"): OpenApiTypes.OBJECT,
        },
    )
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        incident = self.get_object()
        fmt = "json" if request.query_params.get("format") == "json" else "pdf"
        data = report_data(incident=incident)
        services.incident_report_record(user=request.user, incident=incident, fmt=fmt)
        if fmt == "json":
            content = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
            response = HttpResponse(content, content_type="application/json")
        else:
            response = HttpResponse(report_pdf(data), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{incident.reference}-inpdp.{fmt}"'
        response["Cache-Control"] = "no-store"
        return response
