"""The database or Redis unreachable: a 503 JSON with Retry-After, logged once in a while.

Login and every rate-limited operation need Redis for their counters: without it they fail
closed (503, never an unthrottled attempt). Everything else keeps working without the cache, and
both backends are reconnected on the next request once they are back.
"""

import logging
import threading
import time

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.exceptions import error_body

logger = logging.getLogger("ecar.outage")

RETRY_AFTER_SECONDS = 5
# An outage is reported at most once per this many seconds per backend, with the count of
# requests refused meanwhile: one line, not a traceback per request flooding the log.
LOG_INTERVAL_SECONDS = 10

_BACKEND_ERRORS = (
    ("database", (OperationalError, InterfaceError)),
    ("cache", (RedisConnectionError, RedisTimeoutError, ConnectionInterrupted)),
)
_lock = threading.Lock()
_last_logged: dict[str, float] = {}
_refused: dict[str, int] = {}


# SQLSTATEs of a server that is going away or cannot take the connection; class 08 is every
# connection exception. Other OperationalErrors (deadlock, lock timeout, a cancelled query) come
# from a server that answered: they are errors of the request, reported as such (500).
_UNREACHABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}


def _database_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, InterfaceError):
        return True
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNREACHABLE_SQLSTATES


def unavailable_backend(exc: BaseException) -> str | None:
    """'database' or 'cache' when the exception means that backend cannot be reached."""
    for backend, errors in _BACKEND_ERRORS:
        if isinstance(exc, errors):
            if backend == "database" and not _database_unreachable(exc):
                return None
            return backend
    return None


def _report(backend: str, exc: BaseException) -> None:
    now = time.monotonic()
    with _lock:
        _refused[backend] = _refused.get(backend, 0) + 1
        if now - _last_logged.get(backend, -LOG_INTERVAL_SECONDS) < LOG_INTERVAL_SECONDS:
            return
        _last_logged[backend], refused = now, _refused.pop(backend)
    logger.warning(
        "The %s is unavailable (%s): %d request(s) answered 503 since the last report",
        backend,
        type(exc).__name__,
        refused,
    )


def outage_response(backend: str, exc: BaseException) -> JsonResponse:
    """The 503 answered while a backend is down."""
    _report(backend, exc)
    response = JsonResponse(
        error_body(
            f"The service is temporarily unavailable ({backend}). Try again shortly.",
            "service_unavailable",
        ),
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Django would log every 5xx response at ERROR: the line above already reported it.
    response._has_been_logged = True
    return response
