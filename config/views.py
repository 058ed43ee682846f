"""Project-wide views: JSON error pages for the API and the health probe."""

import logging

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.defaults import (
    bad_request,
    page_not_found,
    permission_denied,
    server_error,
)
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import PUBLIC
from config.exceptions import error_body

logger = logging.getLogger("ecar.health")

_ERRORS = {
    400: ("Bad request.", "bad_request", bad_request),
    403: ("Forbidden.", "forbidden", permission_denied),
    404: ("Not found.", "not_found", page_not_found),
    500: ("Internal server error.", "server_error", server_error),
}


def _json_or_html(status: int):
    detail, code, html_view = _ERRORS[status]

    def view(request, exception=None):
        if request.path.startswith("/api/"):
            return JsonResponse(error_body(detail, code), status=status)
        if status == 500:
            return html_view(request)
        return html_view(request, exception)

    return view


handler400 = _json_or_html(400)
handler403 = _json_or_html(403)
handler404 = _json_or_html(404)
handler500 = _json_or_html(500)


def api_not_found(request, *args, **kwargs):
    """Unknown URL under /api/: JSON 404 even with DEBUG on."""
    return JsonResponse(error_body("Not found.", "not_found"), status=404)


def csrf_failure(request, reason=""):
    """CSRF refusal: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("CSRF verification failed.", "csrf_failed"), status=403)
    return django_csrf_failure(request, reason)


HEALTH = inline_serializer(
    "Health", {"database": serializers.CharField(), "cache": serializers.CharField()}
)


class HealthApi(APIView):
    """Database and cache reachability, nothing else."""

    allowed_roles = PUBLIC
    authentication_classes = []

    @extend_schema(responses={200: HEALTH, 503: HEALTH})
    def get(self, request):
        status = {"database": _probe(_database_ok), "cache": _probe(_cache_ok)}
        healthy = all(value == "ok" for value in status.values())
        response = Response(status, status=200 if healthy else 503)
        # The failed probe logged its own line: no ERROR per poll from Django's request log.
        response._has_been_logged = not healthy
        return response


def _probe(check) -> str:
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - whatever the failure, the backend is down
        # One line: a probe polled every few seconds must not flood the log with tracebacks.
        logger.warning("Health probe %s failed: %s", check.__name__, type(exc).__name__)
        return "down"
    return "ok"


def _database_ok():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache_ok():
    cache.set("health-probe", "1", 5)
    if cache.get("health-probe") != "1":
        raise RuntimeError("cache read-back failed")
