"""Refuse requests from blocked networks (incident containment), before anything else runs."""

import ipaddress

from django.http import JsonResponse
from django.utils import timezone

from accounts.network import client_ip
from config.exceptions import error_body
from incidents.selectors import blocked_networks_active


class BlockedNetworkMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        blocks = blocked_networks_active()
        if blocks:
            address = ipaddress.ip_address(client_ip(request))
            now = timezone.now()
            for network, expires_at in blocks:
                if expires_at > now and address.version == network.version and address in network:
                    return JsonResponse(
                        error_body("Requests from this network are blocked.", "network_blocked"),
                        status=403,
                    )
        return self.get_response(request)
