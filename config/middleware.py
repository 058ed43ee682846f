"""Under /api/: errors always JSON, one routing contract, body limits, no caching."""

import codecs
import logging
from http import HTTPStatus

from django.conf import settings
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control

from config.exceptions import error_body
from config.outage import outage_response, unavailable_backend
from config.views import api_not_found

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


class ApiNoStoreMiddleware:
    """Every API response is `Cache-Control: no-store`: they carry personal data or tokens.

    One place instead of per view: browsers, proxies and shared caches keep no copy of a
    customer record, an export or a login response, whoever wrote the view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            patch_cache_control(response, no_store=True)
        return response


class ApiRoutingMiddleware:
    """Unknown paths and methods under /api/ answer JSON 404/405 before authentication or CSRF.

    The same answer for every caller: a typo (`POST /api/login` without its slash) is a 404,
    not a CSRF refusal, and an unsupported method (OPTIONS included) is a 405 whatever the role.
    CORS preflights are answered earlier, by django-cors-headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                match = None
            if match is None or match.func is api_not_found:
                return JsonResponse(error_body("Not found.", "not_found"), status=404)
            allowed = allowed_methods(match.func)
            if allowed is not None and request.method not in allowed:
                response = JsonResponse(
                    error_body(f'Method "{request.method}" not allowed.', "method_not_allowed"),
                    status=405,
                )
                response["Allow"] = ", ".join(sorted(allowed))
                return response
        return self.get_response(request)


def allowed_methods(view_func) -> set[str] | None:
    """The HTTP methods a DRF view answers (None for other views)."""
    view_class = getattr(view_func, "cls", None)
    if view_class is None:
        return None
    actions = getattr(view_func, "actions", None)
    if actions:
        methods = set(actions)
    else:
        methods = {name for name in view_class.http_method_names if hasattr(view_class, name)}
        if getattr(view_class, "metadata_class", None) is None:
            methods.discard("options")  # DRF answers OPTIONS with a 405 without metadata
    if "get" in methods:
        methods.add("head")
    return {name.upper() for name in methods}


class RequestLimitsMiddleware:
    """Refuse oversized bodies, too many form fields and unknown charsets before any parsing.

    The limits come from the Content-Length header, so nothing is read: a JSON 413/400/415 with
    a code instead of Django's RequestDataTooBig/TooManyFieldsSent surfacing as a 500 inside a
    view. Multipart bodies (document uploads) may be as large as the largest document plus the
    form's overhead; every other body is limited to DATA_UPLOAD_MAX_MEMORY_SIZE. nginx's
    client_max_body_size is the multipart limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            refusal = request_refusal(request)
            if refusal is not None:
                status, detail, code = refusal
                logger.warning("Refused %s %s: %s", request.method, request.path, code)
                return JsonResponse(error_body(detail, code), status=status)
        return self.get_response(request)


def request_refusal(request) -> tuple[int, str, str] | None:
    """(status, detail, code) when the request's body breaks a limit, else None."""
    charset = request.content_params.get("charset") if request.content_type else None
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            return 415, "Unsupported charset in Content-Type.", "unsupported_charset"
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 400, "Invalid Content-Length header.", "bad_request"
    multipart = request.content_type == "multipart/form-data"
    limit = settings.API_MAX_UPLOAD_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if length > limit:
        return 413, f"Request body too large (maximum {limit} bytes).", "request_too_large"
    if request.content_type == "application/x-www-form-urlencoded" and length:
        fields = request.body.count(b"&") + 1
        if fields > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:
            return 400, "Too many form fields.", "too_many_fields"
    return None
