"""Request context (client IP, django-auditlog's actor and address) and the admin allow-list."""

from auditlog.context import auditlog_value
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponseForbidden
from django.utils.functional import SimpleLazyObject

from accounts.network import client_ip, ip_in_networks


class ClientIPMiddleware:
    """Resolve the client IP once per request (see accounts.network)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        client_ip(request)
        return self.get_response(request)


def _actor(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


# Marks django-auditlog's context as this middleware's. A nested auditlog.context.set_actor()
# puts its own mark there, and then its own receiver fills the entry instead of this one.
_REQUEST_CONTEXT = ("ecar_request",)


def fill_log_entry(sender, instance, **kwargs):
    """Give a LogEntry saved while a request is served that request's actor and client IP."""
    context = auditlog_value.get(None)
    if context is None or context.get("signal_duid") is not _REQUEST_CONTEXT:
        return
    actor = context["actor"]
    if instance.actor is None and isinstance(actor, get_user_model()):
        instance.actor = actor
        instance.actor_email = getattr(actor, "email", None)
    instance.remote_addr = context["remote_addr"]


class AuditContextMiddleware:
    """Replace django-auditlog's middleware.

    Its own middleware reads the left-most X-Forwarded-For (forgeable) and captures the user
    before DRF has authenticated a JWT request, so it records no actor for API calls. Here the
    address is the resolved client IP and the actor is looked up when the first log row is
    written: by then DRF has authenticated the request and set `request.user`.

    auditlog's set_actor() connects and disconnects a signal receiver on every call, which
    costs each request an inspect.signature() and empties the pre_save receiver cache of every
    model. One receiver (fill_log_entry, connected by AccountsConfig.ready) serves every
    request instead, and only the context variable changes per request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        actor = SimpleLazyObject(lambda: _actor(request))
        token = auditlog_value.set(
            {"actor": actor, "remote_addr": client_ip(request), "signal_duid": _REQUEST_CONTEXT}
        )
        try:
            return self.get_response(request)
        finally:
            auditlog_value.reset(token)


class AdminAllowListMiddleware:
    """The admin site is reachable only from ADMIN_ALLOWED_NETWORKS (by resolved client IP)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/") and not ip_in_networks(
            client_ip(request), settings.ADMIN_ALLOWED_NETWORKS
        ):
            return HttpResponseForbidden("The admin site is not reachable from this address.")
        return self.get_response(request)
