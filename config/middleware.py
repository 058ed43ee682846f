"""Under /api/, every error is JSON in every environment (never an HTML error or debug page)."""

import logging
from http import HTTPStatus

from django.http import JsonResponse

from config.exceptions import error_body
from config.outage import outage_response, unavailable_backend

logger = logging.getLogger("ecar.errors")


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and response.get("Content-Type", "").startswith("text/html")
        ):
            # An error Django rendered before any API view ran (a bad Host header, a body too
            # large), which DEBUG would show as an HTML page.
            return _json_error(response.status_code)
        return response

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        backend = unavailable_backend(exception)
        if backend is not None:
            return outage_response(backend, exception)
        # The path and exception type only: request bodies and query strings may hold personal data.
        logger.error(
            "Unhandled %s on %s %s",
            type(exception).__name__,
            request.method,
            request.path,
            exc_info=exception,
        )
        return JsonResponse(error_body("Internal server error.", "server_error"), status=500)


def _json_error(status_code: int) -> JsonResponse:
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "Error"
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    return JsonResponse(error_body(f"{phrase}.", code), status=status_code)
