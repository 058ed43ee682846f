"""Data residency: every outbound destination the configuration names must be on an allow-list.

Apps that send data somewhere (an SFTP site, an SMS or payment gateway) register the setting that
names the host with `register_destination`; `residency_problems` checks them all against
`DATA_RESIDENCY_ALLOWED_HOSTS`, the operator's list of hosts in Tunisia.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from django.conf import settings

_destinations: dict[str, Callable[[], Iterable[str]]] = {}


def register_destination(label: str, hosts: Callable[[], Iterable[str] | str | None]) -> None:
    """Declare an outbound destination: `hosts()` returns the host(s) it sends to, or nothing."""

    def as_list():
        value = hosts()
        if not value:
            return []
        return [value] if isinstance(value, str) else [h for h in value if h]

    _destinations[label] = as_list


def host_of(url: str) -> str:
    """The host of a URL or DSN (`https://key@sentry.example.tn/1` → `sentry.example.tn`)."""
    return (urlsplit(url).hostname or "") if url else ""


def is_local(host: str) -> bool:
    """Loopback, a unix socket path or no host at all: nothing leaves the machine."""
    if not host or host.startswith("/") or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def destinations() -> list[tuple[str, str]]:
    """Every (label, host) the configuration sends data to, local ones left out."""
    found = []
    for label, hosts in _destinations.items():
        found += [(label, host) for host in hosts() if not is_local(host)]
    return found


def residency_problems() -> list[str]:
    """One message per destination that is not on DATA_RESIDENCY_ALLOWED_HOSTS."""
    allowed = {host.lower() for host in getattr(settings, "DATA_RESIDENCY_ALLOWED_HOSTS", [])}
    return [
        f"{label} sends data to {host}, which is not in DATA_RESIDENCY_ALLOWED_HOSTS."
        for label, host in destinations()
        if host.lower() not in allowed
    ]


def _smtp_host():
    smtp = settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
    return settings.EMAIL_HOST if smtp else None


register_destination("SENTRY_DSN", lambda: host_of(getattr(settings, "SENTRY_DSN", "")))
register_destination("EMAIL_HOST", _smtp_host)
register_destination(
    "DATABASES", lambda: [db.get("HOST", "") for db in settings.DATABASES.values()]
)
register_destination("REDIS_URL", lambda: host_of(getattr(settings, "REDIS_URL", "")) or None)
