"""Login throttling with django-ratelimit, per client IP and per attempted username.

Counters live in the default cache: Redis in production and CI (shared by every gunicorn worker,
atomic increments), so the limits hold under parallel requests.
"""

from django.conf import settings
from django_ratelimit.core import get_usage

from accounts.network import client_ip


def normalise_username(username: str) -> str:
    return username.strip().lower()


def _ip_key(group, request):
    return client_ip(request)


def login_throttle_hit(request, username: str) -> float | None:
    """Count one login attempt; return the seconds to wait when a limit is exceeded, else None."""
    limits = [
        ("login-ip", _ip_key, settings.LOGIN_RATE_PER_IP),
        (
            "login-username",
            lambda group, req: normalise_username(username),
            settings.LOGIN_RATE_PER_USERNAME,
        ),
    ]
    waits = []
    for group, key, rate in limits:
        usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
        if usage is not None and usage["should_limit"]:
            waits.append(max(usage["time_left"], 1))
    return max(waits) if waits else None
