"""Project-wide views: JSON error pages for the API and the health probe."""

import logging
from urllib.parse import urlsplit

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
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import PUBLIC
from config.exceptions import error_body
from config.parsers import JSONParser

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


class CspReportParser(JSONParser):
    """Browsers send violation reports as application/csp-report or application/reports+json."""

    media_type = "application/csp-report"


class ReportingApiParser(JSONParser):
    media_type = "application/reports+json"


class CspReportApi(APIView):
    """Content-Security-Policy violation reports, logged without personal data."""

    allowed_roles = PUBLIC
    authentication_classes = []
    parser_classes = [CspReportParser, ReportingApiParser, JSONParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={204: None})
    def post(self, request):
        data = request.data
        reports = data if isinstance(data, list) else [data]
        for report in reports[:CSP_REPORTS_PER_REQUEST]:
            violation = _violation(report)
            if violation is not None:
                csp_logger.warning(
                    "CSP violation: %s blocked %s on %s",
                    violation["directive"],
                    violation["blocked"],
                    violation["page"],
                )
        return Response(status=204)


CSP_REPORTS_PER_REQUEST = 20
csp_logger = logging.getLogger("ecar.csp")


def _violation(report) -> dict | None:
    """Directive, blocked origin and page path of one report, nothing that may be personal."""
    if not isinstance(report, dict):
        return None
    body = report.get("csp-report") or report.get("body")
    if not isinstance(body, dict):
        return None
    directive = body.get("effective-directive") or body.get("effectiveDirective") or ""
    blocked = body.get("blocked-uri") or body.get("blockedURL") or ""
    page = body.get("document-uri") or body.get("documentURL") or ""
    return {
        "directive": _token(directive),
        "blocked": _origin(blocked),
        "page": urlsplit(str(page)).path[:200] or "-",
    }


def _origin(value) -> str:
    parts = urlsplit(str(value))
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"[:200]
    return _token(value)  # "inline", "eval", "data", ...


def _token(value) -> str:
    return "".join(ch for ch in str(value)[:40] if ch.isalnum() or ch in "-_") or "-"
