"""The client IP every rate limit, audit row and auth event relies on (accounts.network)."""

import pytest
from django.test import RequestFactory

from accounts.middleware import ClientIPMiddleware
from accounts.models import AuthEvent
from accounts.network import UNKNOWN_IP, resolve_client_ip

PROXIES = ("10.0.0.0/8",)


def test_no_proxy_gives_the_peer_address():
    assert resolve_client_ip("203.0.113.7", "", ()) == "203.0.113.7"


def test_forwarded_for_from_an_untrusted_peer_is_ignored():
    assert resolve_client_ip("203.0.113.7", "198.51.100.1", PROXIES) == "203.0.113.7"


def test_forwarded_for_is_ignored_when_no_proxy_is_trusted():
    assert resolve_client_ip("10.0.0.5", "198.51.100.1", ()) == "10.0.0.5"


def test_trusted_peer_with_one_hop_gives_that_hop():
    assert resolve_client_ip("10.0.0.5", "198.51.100.1", PROXIES) == "198.51.100.1"


def test_trusted_peer_without_forwarded_for_gives_the_peer():
    assert resolve_client_ip("10.0.0.5", "", PROXIES) == "10.0.0.5"


def test_multiple_trusted_hops_are_skipped_from_the_right():
    forwarded = "198.51.100.1, 10.1.2.3, 10.0.0.7"
    assert resolve_client_ip("10.0.0.5", forwarded, PROXIES) == "198.51.100.1"


def test_hops_left_of_the_first_untrusted_one_are_not_believed():
    # The client wrote "1.2.3.4" itself; the trusted proxy appended the address it saw.
    forwarded = "1.2.3.4, 203.0.113.9"
    assert resolve_client_ip("10.0.0.5", forwarded, PROXIES) == "203.0.113.9"


def test_a_forged_trusted_looking_hop_left_of_the_client_is_not_believed():
    forwarded = "10.9.9.9, 203.0.113.9"
    assert resolve_client_ip("10.0.0.5", forwarded, PROXIES) == "203.0.113.9"


def test_every_hop_trusted_gives_the_left_most_hop():
    assert resolve_client_ip("10.0.0.5", "10.3.3.3, 10.0.0.7", PROXIES) == "10.3.3.3"


def test_garbage_right_most_hop_falls_back_to_the_peer():
    # Nothing the client wrote (left of the garbage) may be believed.
    assert resolve_client_ip("10.0.0.5", "198.51.100.1, garbage", PROXIES) == "10.0.0.5"


def test_garbage_between_trusted_hops_stops_at_the_last_trusted_hop():
    forwarded = "198.51.100.1, not-an-ip, 10.0.0.7"
    assert resolve_client_ip("10.0.0.5", forwarded, PROXIES) == "10.0.0.7"


def test_garbage_left_of_the_client_hop_is_ignored():
    assert resolve_client_ip("10.0.0.5", "garbage, 198.51.100.1", PROXIES) == "198.51.100.1"


@pytest.mark.parametrize("forwarded", ["", " ", ",", " , "])
def test_empty_forwarded_for_from_a_trusted_peer_gives_the_peer(forwarded):
    assert resolve_client_ip("10.0.0.5", forwarded, PROXIES) == "10.0.0.5"


def test_ipv6_peer_without_proxy():
    assert resolve_client_ip("2001:db8::1", "", ()) == "2001:db8::1"


def test_ipv6_addresses_are_normalised():
    assert resolve_client_ip("2001:DB8:0:0:0:0:0:1", "", ()) == "2001:db8::1"


def test_ipv6_trusted_proxy_and_ipv6_client():
    trusted = ("fd00::/8",)
    forwarded = "2001:db8::99, 2001:db8::42, fd00::2"
    assert resolve_client_ip("fd00::1", forwarded, trusted) == "2001:db8::42"


def test_ipv4_client_behind_an_ipv6_proxy():
    assert resolve_client_ip("fd00::1", "198.51.100.1", ("fd00::/8",)) == "198.51.100.1"


@pytest.mark.parametrize("remote_addr", ["", "   ", "unix:/run/gunicorn.sock", "garbage"])
def test_unusable_peer_address_gives_the_shared_placeholder(remote_addr):
    # The header must not be believed either: with no known peer, no proxy can be trusted.
    assert resolve_client_ip(remote_addr, "198.51.100.1", ("0.0.0.0/0",)) == UNKNOWN_IP
    assert resolve_client_ip(remote_addr, "", ()) == UNKNOWN_IP


def _resolved_ip_seen_by_the_view(**meta):
    seen = {}

    def view(request):
        seen["ip"] = request.client_ip
        return "response"

    request = RequestFactory().get("/api/protected/", **meta)
    assert ClientIPMiddleware(view)(request) == "response"
    return seen["ip"]


def test_middleware_sets_client_ip_before_the_view_runs():
    assert _resolved_ip_seen_by_the_view(REMOTE_ADDR="203.0.113.7") == "203.0.113.7"


def test_middleware_ignores_forwarded_for_from_an_untrusted_peer(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    ip = _resolved_ip_seen_by_the_view(
        REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1"
    )
    assert ip == "203.0.113.7"


def test_middleware_uses_the_trusted_proxy_setting(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    ip = _resolved_ip_seen_by_the_view(
        REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9"
    )
    assert ip == "203.0.113.9"


def test_client_ip_middleware_runs_before_the_middlewares_that_use_it(settings):
    order = settings.MIDDLEWARE
    first = order.index("accounts.middleware.ClientIPMiddleware")
    assert first < order.index("accounts.middleware.AdminAllowListMiddleware")
    assert first < order.index("accounts.middleware.AuditContextMiddleware")


def test_a_real_request_records_the_resolved_ip(settings, api_client, customer, password):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    response = api_client.post(
        "/api/login/",
        {"username": customer.username, "password": password},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9",
    )
    assert response.status_code == 200
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOGIN_SUCCEEDED, user=customer)
    assert event.ip == "203.0.113.9"
