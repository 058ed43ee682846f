"""The client's IP address, as every rate limit, audit row and auth event sees it."""

import ipaddress
from functools import lru_cache

from django.conf import settings

# No usable peer address (e.g. a unix-socket upstream): all such requests share one bucket.
UNKNOWN_IP = "0.0.0.0"  # noqa: S104  # nosec B104 - a placeholder address, not a bind address


@lru_cache(maxsize=8)
def _trusted_networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address, networks) -> bool:
    return any(address in network for network in networks)


def resolve_client_ip(remote_addr: str, forwarded_for: str, trusted: tuple[str, ...]) -> str:
    """REMOTE_ADDR, or the right-most X-Forwarded-For hop not in `trusted` when the peer is.

    Only a trusted proxy's header is believed, and only from the right: every hop left of the
    first untrusted one was written by the client and can be forged.
    """
    peer = _parse(remote_addr or "")
    if peer is None:
        return UNKNOWN_IP
    networks = _trusted_networks(tuple(trusted))
    if not forwarded_for or not _is_trusted(peer, networks):
        return str(peer)
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            break
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)


def ip_in_networks(ip: str, cidrs) -> bool:
    """Whether an address belongs to one of the given CIDR networks."""
    address = _parse(ip)
    return address is not None and _is_trusted(address, _trusted_networks(tuple(cidrs)))


def client_ip(request) -> str:
    """The resolved client IP of a request (set once by ClientIPMiddleware)."""
    ip = getattr(request, "client_ip", None)
    if ip is None:
        ip = resolve_client_ip(
            request.META.get("REMOTE_ADDR", ""),
            request.META.get("HTTP_X_FORWARDED_FOR", ""),
            tuple(settings.TRUSTED_PROXIES),
        )
        request.client_ip = ip
    return ip


def user_agent(request) -> str:
    """The User-Agent header, truncated to what the auth events keep."""
    return request.META.get("HTTP_USER_AGENT", "")[:255]
