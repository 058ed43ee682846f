"""Request context (client IP, django-auditlog's actor and address) and the admin allow-list."""

from auditlog.context import set_actor
from django.conf import settings
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


class AuditContextMiddleware:
    """Replace django-auditlog's middleware.

    Its own middleware reads the left-most X-Forwarded-For (forgeable) and captures the user
    before DRF has authenticated a JWT request, so it records no actor for API calls. Here the
    address is the resolved client IP and the actor is looked up when the first log row is
    written: by then DRF has authenticated the request and set `request.user`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        actor = SimpleLazyObject(lambda: _actor(request))
        with set_actor(actor, remote_addr=client_ip(request)):
            return self.get_response(request)


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
