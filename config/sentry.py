"""Error tracking with Sentry, without personal data: events carry code context, not people."""

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

_KEPT_HEADERS = {"Content-Type", "Content-Length", "Accept"}


def scrub_event(event, hint):
    """Drop request bodies, cookies, query strings, identifying headers and user details."""
    request = event.get("request") or {}
    for key in ("data", "cookies", "query_string", "env"):
        request.pop(key, None)
    if "url" in request:
        request["url"] = request["url"].split("?", 1)[0]
    headers = request.get("headers") or {}
    request["headers"] = {k: v for k, v in headers.items() if k in _KEPT_HEADERS}
    event.pop("user", None)
    event.pop("server_name", None)
    return event


def init_sentry(*, dsn: str, environment: str) -> None:
    """Start the Sentry SDK when a DSN is configured (self-hosted, in Tunisia)."""
    if not dsn:
        return
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,
        before_send=scrub_event,
    )
