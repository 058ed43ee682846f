"""One error shape for the whole API: {"detail": str, "code": str, "errors"?: {...}}."""

import logging
import math

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DataError
from django.http import Http404
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger("ecar.errors")


class ApplicationError(Exception):
    """A business rule refused the request: rendered as a 400 (or `status`) with a stable code."""

    def __init__(self, message: str, *, code: str = "invalid", status_code: int = 400, extra=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.extra = extra or {}


class Throttled(Exception):
    """Too many attempts: a 429 with Retry-After (seconds)."""

    def __init__(self, retry_after: float | None):
        super().__init__("Too many attempts.")
        self.retry_after = retry_after


def error_body(detail: str, code: str, errors=None) -> dict:
    """The JSON body of every API error."""
    body = {"detail": detail, "code": code}
    if errors:
        body["errors"] = errors
    return body


def api_exception_handler(exc, context):
    """Map domain errors, throttling and DRF errors to the one JSON shape."""
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.message, exc.code, exc.extra), status=exc.status_code)
    if isinstance(exc, Throttled | Ratelimited):
        retry_after = getattr(exc, "retry_after", None)
        response = Response(
            error_body("Too many attempts. Try again later.", "throttled"),
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        if retry_after:
            response["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return response
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        # A body past the limits that its Content-Length did not announce (multipart parts).
        logger.warning("Refused %s: %s", type(exc).__name__, context["request"].path)
        if isinstance(exc, RequestDataTooBig):
            return Response(
                error_body("Request body too large.", "request_too_large"),
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        return Response(
            error_body("Too many form fields.", "too_many_fields"),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, OverflowError | DataError):
        # A number too large for its column (an id or a filter value from the client).
        return Response(
            error_body("A value is out of range.", "out_of_range"),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("Invalid input.", "invalid", errors)
    elif isinstance(exc.detail, dict):
        # SimpleJWT's InvalidToken carries {"detail", "code", "messages"}.
        detail = exc.detail
        response.data = error_body(
            str(detail.get("detail", "Invalid token.")), str(detail.get("code", "token_not_valid"))
        )
    else:
        response.data = error_body(str(exc.detail), _code(exc.get_codes()))
    return response


def _code(codes) -> str:
    """A single machine-readable code out of DRF's code structure."""
    if isinstance(codes, dict):
        codes = codes.get("code") or codes.get("detail") or next(iter(codes.values()), "error")
    if isinstance(codes, list):
        codes = codes[0] if codes else "error"
    return str(codes)
