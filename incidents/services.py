"""Use cases: detector passes, alert triage, incidents and their containment actions."""

import ipaddress
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.network import client_ip
from accounts.services import user_deactivate, user_require_password_change, user_revoke_sessions
from config.exceptions import ApplicationError
from incidents import detectors
from incidents.alerting import alert_dispatch
from incidents.categories import category_label
from incidents.models import (
    BlockedNetwork,
    DetectorCursor,
    Incident,
    IncidentEvent,
    SecurityAlert,
    Severity,
)
from incidents.selectors import (
    BLOCKS_CACHE_KEY,
    blocked_networks_forget,
    blocked_networks_load,
    incident_affected,
    person_contact,
)
from notifications.services import notification_enqueue
from privacy.keys import get_keys
from privacy.rotation import RotationReport, encrypted_columns, rotate_column, rotate_stored_files

PASS_LIMIT = 5000

# --- Detector passes ----------------------------------------------------------------------------


@dataclass
class PassResult:
    read: dict[str, int] = field(default_factory=dict)
    created: list[SecurityAlert] = field(default_factory=list)
    updated: list[SecurityAlert] = field(default_factory=list)


def _new_rows(source: str, cursor: DetectorCursor, ready_before: datetime) -> list:
    model, time_field = detectors.SOURCES[source]
    rows = list(model._base_manager.filter(pk__gt=cursor.last_id).order_by("pk")[:PASS_LIMIT])
    # Stop at the first row still inside the grace period: its neighbours with lower ids may
    # belong to transactions that are not committed yet.
    for index, row in enumerate(rows):
        if getattr(row, time_field) >= ready_before:
            return rows[:index]
    return rows


@transaction.atomic
def detectors_run(*, now: datetime | None = None) -> PassResult:
    """One pass of every detector over what was recorded since the previous pass."""
    now = now or timezone.now()
    ready_before = now - timedelta(seconds=settings.SECURITY_RECORD_GRACE_SECONDS)
    cursors = {}
    for source in detectors.SOURCES:
        DetectorCursor.objects.get_or_create(source=source)
        # Locked: two passes at once would read the same rows twice.
        cursors[source] = DetectorCursor.objects.select_for_update().get(source=source)
    rows = {source: _new_rows(source, cursors[source], ready_before) for source in cursors}
    new = detectors.NewRecords(**rows)
    result = PassResult(read={source: len(found) for source, found in rows.items()})
    for detector in detectors.DETECTORS:
        for finding in detector(new):
            alert, created = alert_raise(finding=finding)
            (result.created if created else result.updated).append(alert)
    for source, found in rows.items():
        if found:
            cursors[source].last_id = found[-1].pk
            cursors[source].save(update_fields=["last_id", "updated_at"])
    return result


# --- Alerts -------------------------------------------------------------------------------------


@transaction.atomic
def alert_raise(*, finding: detectors.Finding) -> tuple[SecurityAlert, bool]:
    """Record a finding: a new alert, or the open alert of the same pattern seen again."""
    since = finding.at - timedelta(hours=settings.ALERT_DEDUPE_HOURS)
    alert = (
        SecurityAlert.objects.select_for_update()
        .filter(dedupe_key=finding.key, last_seen__gte=since)
        .exclude(status=SecurityAlert.Status.CLOSED)
        .order_by("-last_seen")
        .first()
    )
    if alert is not None:
        alert.occurrences += 1
        alert.last_seen = max(alert.last_seen, finding.at)
        alert.evidence = finding.evidence
        alert.save(update_fields=["occurrences", "last_seen", "evidence"])
        return alert, False
    alert = SecurityAlert.objects.create(
        detector=finding.detector,
        severity=finding.severity,
        dedupe_key=finding.key,
        evidence=finding.evidence,
        first_seen=finding.at,
        last_seen=finding.at,
    )
    if alert.severity == Severity.HIGH:
        transaction.on_commit(partial(alert_dispatch, alert_id=alert.pk))
    return alert, True


def _invalid_status(thing: str, status: str) -> ApplicationError:
    return ApplicationError(
        f"The {thing} is {status}: this action does not apply.",
        code="invalid_status",
        status_code=409,
    )


@transaction.atomic
def alert_acknowledge(*, alert: SecurityAlert, user: User) -> SecurityAlert:
    """new → acknowledged: someone is looking at it."""
    alert = SecurityAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != SecurityAlert.Status.NEW:
        raise _invalid_status("alert", alert.status)
    alert.status = SecurityAlert.Status.ACKNOWLEDGED
    alert.acknowledged_by, alert.acknowledged_at = user, timezone.now()
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
    return alert


@transaction.atomic
def alert_close(*, alert: SecurityAlert, user: User) -> SecurityAlert:
    """new or acknowledged → closed (dealt with, or a false positive)."""
    alert = SecurityAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == SecurityAlert.Status.CLOSED:
        raise _invalid_status("alert", alert.status)
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = user, timezone.now()
    alert.status = SecurityAlert.Status.CLOSED
    alert.closed_by, alert.closed_at = user, timezone.now()
    alert.save(
        update_fields=["status", "acknowledged_by", "acknowledged_at", "closed_by", "closed_at"]
    )
    return alert


@transaction.atomic
def audit_tampering_raise(*, breaks: list) -> SecurityAlert:
    """verify_audit found a break: a high alert (ids and counts only)."""
    first = breaks[0]
    finding = detectors.Finding(
        SecurityAlert.Detector.AUDIT_TAMPERING,
        Severity.HIGH,
        f"audit_tampering:{first.stream}:{first.what}:{first.record_id}:{first.seq}",
        timezone.now(),
        {
            "breaks": len(breaks),
            "first_stream": first.stream,
            "first_break": first.what,
            "first_record_id": first.record_id,
            "first_position": first.seq,
        },
    )
    return alert_raise(finding=finding)[0]


# --- Incidents ----------------------------------------------------------------------------------


def _event(incident: Incident, kind: str, actor, **details) -> IncidentEvent:
    return IncidentEvent.objects.create(incident=incident, kind=kind, actor=actor, details=details)


def _networks(values) -> list[str]:
    networks = []
    for value in values or ():
        try:
            networks.append(str(ipaddress.ip_network(str(value).strip(), strict=False)))
        except ValueError as exc:
            raise ApplicationError(
                "Invalid network.", code="invalid", extra={"scope_networks": [str(value)]}
            ) from exc
    return sorted(set(networks))


def _known(model, pks, *, name: str) -> list[int]:
    """The given ids, sorted, once each; a 400 naming those of no `model` row."""
    ids = sorted({int(pk) for pk in pks or ()})
    found = set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ApplicationError(
            f"Unknown {name}s.",
            code=f"unknown_{name}s",
            extra={f"{name}_ids": [str(pk) for pk in missing]},
        )
    return ids


def _known_users(user_ids) -> list[int]:
    return _known(User, user_ids, name="user")


def _known_alerts(alert_ids) -> list[int]:
    return _known(SecurityAlert, alert_ids, name="alert")


@transaction.atomic
def incident_open(
    *,
    user: User,
    title: str,
    occurred_from: datetime,
    occurred_to: datetime | None = None,
    description: str = "",
    severity: str = Severity.HIGH,
    scope_user_ids=(),
    scope_networks=(),
    scope_everyone: bool = False,
    alert_ids=(),
) -> Incident:
    """Open an incident by hand or from alerts; the alerts are linked and acknowledged."""
    alert_ids = _known_alerts(alert_ids)
    if occurred_to is not None and occurred_to < occurred_from:
        raise ApplicationError(
            "The incident cannot end before it starts.",
            code="invalid",
            extra={"occurred_to": ["Must be after occurred_from."]},
        )
    incident = Incident(
        reference=f"pending-{uuid.uuid4().hex[:12]}",
        title=title,
        description=description,
        severity=severity,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        scope_user_ids=_known_users(scope_user_ids),
        scope_networks=_networks(scope_networks),
        scope_everyone=scope_everyone,
        opened_by=user,
    )
    incident.save()
    incident.reference = f"INC-{incident.created_at:%Y}-{incident.pk:05d}"
    incident.save(update_fields=["reference"])
    _event(incident, IncidentEvent.Kind.OPENED, user, alerts=alert_ids)
    for alert_id in alert_ids:
        _link(incident, alert_id, user)
    return incident


def _link(incident: Incident, alert_id: int, user: User) -> None:
    alert = SecurityAlert.objects.select_for_update().get(pk=alert_id)
    if alert.incident_id is not None and alert.incident_id != incident.pk:
        raise ApplicationError(
            f"Alert {alert.pk} already belongs to another incident.", code="alert_has_incident"
        )
    alert.incident = incident
    if alert.status == SecurityAlert.Status.NEW:
        alert.status = SecurityAlert.Status.ACKNOWLEDGED
        alert.acknowledged_by, alert.acknowledged_at = user, timezone.now()
    alert.save(update_fields=["incident", "status", "acknowledged_by", "acknowledged_at"])
    _event(incident, IncidentEvent.Kind.ALERT_LINKED, user, alert_id=alert.pk)


def _alert_scope(alert: SecurityAlert) -> tuple[list[int], list[str]]:
    """The accounts and addresses an alert's evidence names."""
    return sorted(alert.named_users()), sorted(alert.named_addresses())


@transaction.atomic
def incident_open_from_alert(*, user: User, alert: SecurityAlert) -> Incident:
    """An incident scoped to what the alert names, from the start of its window."""
    if alert.incident_id is not None:
        raise ApplicationError(
            f"Alert {alert.pk} already belongs to incident {alert.incident.reference}.",
            code="alert_has_incident",
        )
    user_ids, ips = _alert_scope(alert)
    window = timedelta(minutes=alert.evidence.get("window_minutes", 60))
    return incident_open(
        user=user,
        title=f"{alert.get_detector_display()} (alert {alert.pk})",
        severity=alert.severity,
        occurred_from=alert.first_seen - window,
        scope_user_ids=User.objects.filter(pk__in=user_ids).values_list("pk", flat=True),
        scope_networks=ips,
        alert_ids=[alert.pk],
    )


def _open_for_containment(incident: Incident) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == Incident.Status.CLOSED:
        raise _invalid_status("incident", incident.status)
    return incident


def _contained(incident: Incident) -> None:
    if incident.status == Incident.Status.OPEN:
        incident.status = Incident.Status.CONTAINED
        incident.contained_at = timezone.now()
        incident.save(update_fields=["status", "contained_at"])


def _targets(request, user_ids, everyone: bool):
    """The chosen users, or every user but the caller (who must stay able to act)."""
    if everyone:
        return User.objects.exclude(pk=request.user.pk).order_by("pk")
    ids = _known_users(user_ids)
    if not ids:
        raise ApplicationError(
            "Choose users or everyone.", code="invalid", extra={"user_ids": ["Required."]}
        )
    return User.objects.filter(pk__in=ids).order_by("pk")


def _contain_users(request, incident, users, act, kind, everyone=False) -> int:
    """Apply one containment step to each user, then record it (the same event fields for
    every step: the report reads them) and mark the incident contained."""
    for target in users:
        act(request=request, user=target)
    _event(
        incident,
        kind,
        request.user,
        everyone=everyone,
        count=len(users),
        user_ids=[] if everyone else [u.pk for u in users],
    )
    _contained(incident)
    return len(users)


@transaction.atomic
def incident_revoke_sessions(*, request, incident: Incident, user_ids=(), everyone=False) -> int:
    """End every session (refresh and access tokens) of the chosen users, or of everyone."""
    incident = _open_for_containment(incident)
    users = list(_targets(request, user_ids, everyone))
    kind = IncidentEvent.Kind.SESSIONS_REVOKED
    return _contain_users(request, incident, users, user_revoke_sessions, kind, everyone)


@transaction.atomic
def incident_disable_accounts(*, request, incident: Incident, user_ids) -> int:
    """Disable the chosen logins (their sessions end); never the caller or the last super-admin."""
    incident = _open_for_containment(incident)
    users = list(_targets(request, user_ids, everyone=False))
    if any(target.pk == request.user.pk for target in users):
        raise ApplicationError("You cannot disable your own account.", code="cannot_disable_self")
    remaining = (
        User.objects.filter(role=Role.SUPER_ADMIN, is_active=True)
        .exclude(pk__in=[u.pk for u in users])
        .exists()
    )
    if not remaining:
        raise ApplicationError(
            "At least one active super-admin must remain.", code="last_super_admin"
        )
    return _contain_users(
        request, incident, users, user_deactivate, IncidentEvent.Kind.ACCOUNTS_DISABLED
    )


@transaction.atomic
def incident_force_password_change(
    *, request, incident: Incident, user_ids=(), everyone=False
) -> int:
    """End the chosen users' sessions; their next login admits only a password change."""
    incident = _open_for_containment(incident)
    users = list(_targets(request, user_ids, everyone))
    return _contain_users(
        request,
        incident,
        users,
        user_require_password_change,
        IncidentEvent.Kind.PASSWORD_CHANGE_FORCED,
        everyone,
    )


def incident_rotate_keys(*, request, incident: Incident) -> dict:
    """Re-encrypt every value and file under the active field key (rotate_encryption_keys).

    Not one transaction: the rotation commits batch by batch (it is resumable), then the step
    is recorded with its counts.
    """
    with transaction.atomic():
        _open_for_containment(incident)
    report = RotationReport()
    for column in encrypted_columns():
        rotate_column(column, report, dry_run=False)
    rotate_stored_files(report, dry_run=False)
    with transaction.atomic():
        incident = _open_for_containment(incident)
        details = {
            "active_key": get_keys().active_id,
            "values_rewritten": report.rewritten,
            "files_rewritten": report.files_rewritten,
            "failures": len(report.failed),
        }
        _event(incident, IncidentEvent.Kind.KEYS_ROTATED, request.user, **details)
        _contained(incident)
    return details


MIN_PREFIX = {4: 8, 6: 32}


@transaction.atomic
def incident_block_network(*, request, incident: Incident, network: str, hours: int):
    """Refuse every request from a network until the block expires."""
    incident = _open_for_containment(incident)
    try:
        parsed = ipaddress.ip_network(network.strip(), strict=False)
    except ValueError as exc:
        raise ApplicationError(
            "Invalid network.", code="invalid", extra={"network": ["Expected a CIDR."]}
        ) from exc
    if parsed.prefixlen < MIN_PREFIX[parsed.version]:
        raise ApplicationError(
            f"Blocking a network wider than /{MIN_PREFIX[parsed.version]} is refused.",
            code="network_too_wide",
        )
    own = ipaddress.ip_address(client_ip(request))
    if own.version == parsed.version and own in parsed:
        raise ApplicationError(
            "This network contains your own address: you would lock yourself out.",
            code="network_contains_caller",
        )
    block = BlockedNetwork.objects.create(
        network=str(parsed),
        expires_at=timezone.now() + timedelta(hours=hours),
        incident=incident,
        created_by=request.user,
    )
    transaction.on_commit(blocked_networks_publish)
    _event(
        incident,
        IncidentEvent.Kind.NETWORK_BLOCKED,
        request.user,
        network=block.network,
        expires_at=block.expires_at.isoformat(),
    )
    _contained(incident)
    return block


def blocked_networks_publish() -> None:
    """Put the blocks in force into the shared cache, where the middleware reads them."""
    cache.set(BLOCKS_CACHE_KEY, blocked_networks_load(), timeout=None)
    blocked_networks_forget()


@transaction.atomic
def incident_close(*, user: User, incident: Incident) -> Incident:
    """Close an incident (its record, timeline and report stay)."""
    incident = _open_for_containment(incident)
    incident.status = Incident.Status.CLOSED
    incident.closed_at = timezone.now()
    incident.save(update_fields=["status", "closed_at"])
    _event(incident, IncidentEvent.Kind.CLOSED, user)
    return incident


@transaction.atomic
def incident_report_record(*, user: User, incident: Incident, fmt: str) -> None:
    """The authority report was downloaded (who, when, which format)."""
    _event(incident, IncidentEvent.Kind.REPORT_DOWNLOADED, user, format=fmt)


def _address(channel: str, contact) -> tuple[str, str] | tuple[None, None]:
    """The channel and address to reach someone by, or (None, None) when they cannot be."""
    if channel == "email" or (channel == "auto" and contact.email and not contact.prefers_sms):
        return ("email", contact.email) if contact.email else (None, None)
    if contact.phone:
        return "sms", contact.phone
    if channel == "auto" and contact.email:
        return "email", contact.email
    return None, None


@transaction.atomic
def incident_notify(
    *,
    request,
    incident: Incident,
    measures: list[str],
    recommended_actions: list[str],
    contact: str | None = None,
    channel: str = "auto",
) -> dict:
    """Queue one breach notice per affected person, in their language, with the decision.

    The outbox rows commit with the recorded step or not at all; notifying again queues
    nothing twice (one dedupe key per incident and person).
    """
    incident = _open_for_containment(incident)
    contact = (contact or settings.INCIDENT_CONTACT).strip()
    if not contact:
        raise ApplicationError(
            "Say how people can reach the garage (contact, or INCIDENT_CONTACT).",
            code="contact_required",
            extra={"contact": ["Required."]},
        )
    until = incident.occurred_to or timezone.now()
    queued = unreachable = 0
    people = incident_affected(incident=incident)
    for key in sorted(people):
        person = people[key]
        reach = person_contact(person)
        how, address = _address(channel, reach)
        if address is None:
            unreachable += 1
            continue
        notification_enqueue(
            template="breach_notice",
            language=reach.language,
            channel=how,
            address=address,
            context={
                "incident_reference": incident.reference,
                "occurred_from": timezone.localdate(incident.occurred_from).isoformat(),
                "occurred_to": timezone.localdate(until).isoformat(),
                "data_categories": [
                    category_label(c, reach.language) for c in sorted(person.categories)
                ],
                "measures": list(measures),
                "recommended_actions": list(recommended_actions),
                "contact": contact,
            },
            recipient_ref=person.key,
            dedupe_key=f"incident:{incident.pk}:{person.key}:breach_notice",
        )
        queued += 1
    _event(
        incident,
        IncidentEvent.Kind.PEOPLE_NOTIFIED,
        request.user,
        count=queued,
        unreachable=unreachable,
        channel=channel,
    )
    return {"queued": queued, "unreachable": unreachable}
