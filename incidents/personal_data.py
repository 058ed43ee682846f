"""What the security records of this app say about a person: export and erasure (registry).

Alerts name people by account id (and where requests came from); incidents by account id in
their scope. Staff who handled them are linked as actors. Erasure keeps the security record
(what happened, the counts) and drops where the person's requests came from (IPs, networks).
"""

from incidents.models import BlockedNetwork, Incident, IncidentEvent, SealEvent, SecurityAlert
from privacy.registry import ErasureResult, PersonalDataSource, registry


def _alerts_about(user):
    # Evidence is JSON: matched here rather than by JSON lookups SQLite lacks.
    return [a for a in SecurityAlert.objects.order_by("id") if user.pk in a.named_users()]


def _export(user):
    for alert in _alerts_about(user):
        yield {
            "security_alert": alert.pk,
            "detector": alert.detector,
            "first_seen": alert.first_seen,
            "last_seen": alert.last_seen,
            "status": alert.status,
        }
    for incident in Incident.objects.order_by("id"):
        if user.pk in incident.scope_user_ids:
            yield {
                "incident": incident.reference,
                "occurred_from": incident.occurred_from,
                "occurred_to": incident.occurred_to,
                "status": incident.status,
            }


def _without_addresses(alert: SecurityAlert) -> None:
    """Drop the IPs and networks from the evidence, and from the end of the dedupe key
    (`admin_new_network:<id>:<network>` becomes `admin_new_network:<id>`)."""
    addresses = alert.named_addresses()
    alert.evidence = {
        key: value for key, value in alert.evidence.items() if key not in SecurityAlert.ADDRESS_KEYS
    }
    key = alert.dedupe_key
    while suffix := next((f":{a}" for a in addresses if key.endswith(f":{a}")), None):
        key = key.removesuffix(suffix)
    alert.dedupe_key = key


def _erase(user) -> ErasureResult:
    """Drop the addresses from alerts about the person; ids and counts stay for security."""
    alerts = _alerts_about(user)
    for alert in alerts:
        _without_addresses(alert)
    SecurityAlert.objects.bulk_update(alerts, ["evidence", "dedupe_key"])
    return ErasureResult(erased=len(alerts))


registry.register(
    PersonalDataSource(
        name="security_alerts",
        models=(SecurityAlert, Incident, IncidentEvent, BlockedNetwork, SealEvent),
        export=_export,
        erase=_erase,
        order=950,
    )
)
