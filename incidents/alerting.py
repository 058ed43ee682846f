"""New high alerts reach the super-admins: e-mail (Django's backend) and Sentry, once each."""

import json
import logging

import sentry_sdk
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from accounts.models import Profile, Role
from incidents.models import SecurityAlert, Severity

logger = logging.getLogger("ecar.security")


def super_admin_addresses() -> list[str]:
    """E-mail addresses of the active super-admins (decrypted from their profiles)."""
    profiles = Profile.objects.filter(
        user__role=Role.SUPER_ADMIN, user__is_active=True, email__isnull=False
    )
    return [profile.email for profile in profiles if profile.email]


def _numbers(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    values = value.values() if isinstance(value, dict) else value
    return isinstance(value, list | dict) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    )


def scrubbed_evidence(evidence: dict) -> dict:
    """What may leave the server: counts and ids only (no IPs, digests, networks or dates)."""
    return {key: value for key, value in evidence.items() if _numbers(value)}


def _email(alert: SecurityAlert) -> int:
    recipients = super_admin_addresses()
    if not recipients:
        return 0
    subject = (
        f"[ECAR security] {alert.get_severity_display()} alert {alert.pk}: "
        f"{alert.get_detector_display()}"
    )
    body = "\n".join(
        [
            f"Alert {alert.pk}: {alert.get_detector_display()} ({alert.detector})",
            f"Severity: {alert.severity}",
            f"First seen: {alert.first_seen.isoformat()}",
            "",
            "Evidence (counts and ids; addresses and digests are in the API):",
            json.dumps(scrubbed_evidence(alert.evidence), indent=2, sort_keys=True),
            "",
            f"Review it: GET /api/alerts/{alert.pk}/ (acknowledge, close or open an incident).",
        ]
    )
    # One message per recipient: super-admins do not see each other's addresses.
    messages = [
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        for address in recipients
    ]
    return get_connection().send_messages(messages) or 0


def _sentry(alert: SecurityAlert) -> None:
    with sentry_sdk.new_scope() as scope:
        scope.set_level("error")
        scope.set_tag("security_alert.detector", alert.detector)
        scope.set_tag("security_alert.severity", alert.severity)
        scope.set_context("security_alert", {"id": alert.pk, **scrubbed_evidence(alert.evidence)})
        # One issue per detector in Sentry; each alert is one event in it.
        scope.fingerprint = ["security-alert", alert.detector]
        sentry_sdk.capture_message(f"Security alert: {alert.detector}")


def alert_dispatch(*, alert_id: int) -> bool:
    """Send a new high alert to the super-admins; a second call for the same alert sends nothing."""
    claimed = SecurityAlert.objects.filter(
        pk=alert_id, notified_at__isnull=True, severity=Severity.HIGH
    ).update(notified_at=timezone.now())
    if not claimed:
        return False
    alert = SecurityAlert.objects.get(pk=alert_id)
    logger.warning("Security alert %s: %s (%s)", alert.pk, alert.detector, alert.severity)
    try:
        sent = _email(alert)
    except OSError as exc:
        # The class only: an SMTP error's message can quote the recipients' addresses.
        logger.error("Security alert %s: e-mail not sent (%s)", alert.pk, type(exc).__name__)
        sent = 0
    _sentry(alert)
    logger.info("Security alert %s sent to %d super-admins", alert.pk, sent)
    return True
