"""Under /api/, an unhandled error is a JSON 500 in every environment (no HTML debug page)."""

import logging

from django.http import JsonResponse

from config.exceptions import error_body

logger = logging.getLogger("ecar.errors")


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        # The path and exception type only: request bodies and query strings may hold personal data.
        logger.error(
            "Unhandled %s on %s %s",
            type(exception).__name__,
            request.method,
            request.path,
            exc_info=exception,
        )
        return JsonResponse(error_body("Internal server error.", "server_error"), status=500)
