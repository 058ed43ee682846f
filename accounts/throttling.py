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


def _hit(request, group: str, key, rate: str) -> float | None:
    usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    if usage is not None and usage["should_limit"]:
        return max(usage["time_left"], 1)
    return None


def password_check_throttle_hit(request, user) -> float | None:
    """Count one attempt to prove the current password (password change); seconds to wait."""
    return _hit(
        request, "password-check", lambda group, req: str(user.pk), settings.PASSWORD_CHECK_RATE
    )


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
    waits = [wait for group, key, rate in limits if (wait := _hit(request, group, key, rate))]
    return max(waits) if waits else None


def mfa_throttle_hit(request, user=None) -> float | None:
    """Count one second-factor attempt per client IP and per account; seconds to wait, or None."""
    limits = [("mfa-ip", _ip_key, settings.MFA_RATE_PER_IP)]
    if user is not None:
        limits.append(("mfa-user", lambda group, req: str(user.pk), settings.MFA_RATE_PER_USER))
    waits = [wait for group, key, rate in limits if (wait := _hit(request, group, key, rate))]
    return max(waits) if waits else None
