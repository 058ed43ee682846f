"""Under /api/: errors always JSON, one routing contract, body limits, no caching."""

import logging
from functools import cache
from http import HTTPStatus

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import JsonResponse
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


# What a view or decorator may set on a response to change its policy (django-csp's attributes).
_PER_RESPONSE_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)


@cache
def _settings_policies() -> tuple[str, str] | None:
    """The policy and report-only policy of the settings alone (no nonce), built once; None
    when a policy excludes URL prefixes (django-csp then decides per path)."""
    configs = (
        getattr(settings, "CONTENT_SECURITY_POLICY", None) or {},
        getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) or {},
    )
    if any(config.get("EXCLUDE_URL_PREFIXES") for config in configs):
        return None
    return build_policy(), build_policy(report_only=True)


def _forget_policies(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _settings_policies.cache_clear()


setting_changed.connect(_forget_policies)


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp, without building the same policy string again for every response.

    A JSON response uses no nonce and no per-view policy, so its header is the settings' policy:
    built once. A response that used a nonce (the admin and Swagger pages), that carries a
    view's own policy, or any response under DEBUG (django-csp spares its error pages) goes
    through django-csp unchanged.
    """

    def process_response(self, request, response):
        policies = _settings_policies()
        if (
            policies is None
            or settings.DEBUG
            or getattr(request, "_csp_nonce", None) is not None
            or any(getattr(response, name, None) is not None for name in _PER_RESPONSE_POLICY)
        ):
            return super().process_response(request, response)
        policy, report_only = policies
        if policy and HEADER not in response:
            response[HEADER] = policy
        if report_only and HEADER_REPORT_ONLY not in response:
            response[HEADER_REPORT_ONLY] = report_only
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


class ApiRoutingMiddleware:
    """Unknown paths and methods under /api/ answer JSON 404/405 before authentication or CSRF.

    The same answer for every caller: a typo (`POST /api/login` without its slash) is a 404,
    not a CSRF refusal, and an unsupported method (OPTIONS included) is a 405 whatever the role.
    CORS preflights are answered earlier, by django-cors-headers. It works on the view Django
    has resolved (every path under /api/ resolves, unknown ones to api_not_found), placed before
    CsrfViewMiddleware so that its answer comes first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.path.startswith("/api/"):
            return None
        if view_func is api_not_found:
            return api_not_found(request)  # here, before CSRF could refuse an unknown POST
        allowed = allowed_methods(view_func)
        if allowed is not None and request.method not in allowed:
            response = JsonResponse(
                error_body(f'Method "{request.method}" not allowed.', "method_not_allowed"),
                status=405,
            )
            response["Allow"] = ", ".join(sorted(allowed))
            return response
        return None


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
            # LookupError for unknown names and for bytes-to-bytes codecs (hex, zlib, rot13).
            b"{}".decode(charset, "replace")
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
