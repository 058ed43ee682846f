"""Audit seals, detector cursors, security alerts, incidents and blocked networks."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from privacy.fields import EncryptedCharField, EncryptedTextField
from privacy.models import EncryptedModel


class Stream(models.TextChoices):
    """The security records that are sealed (and read by the detectors)."""

    AUTH_EVENTS = "auth_events", "Auth events"
    ACCESS_RECORDS = "access_records", "Access records"
    AUDIT_LOG = "audit_log", "Audit log entries"


class SealHead(models.Model):
    """Where one stream's seal stands: the range of positions and how far in time it reached."""

    stream = models.CharField(max_length=20, choices=Stream.choices, unique=True)
    # Positions first_seq .. next_seq - 1 exist; below first_seq they were retired on purpose.
    first_seq = models.PositiveBigIntegerField(default=1)
    next_seq = models.PositiveBigIntegerField(default=1)
    # Every record older than this was sealed by a pass: an unsealed one was inserted later.
    sealed_until = models.DateTimeField(null=True, blank=True)
    mac = models.CharField(max_length=64, blank=True)

    def __str__(self):
        return f"seal head of {self.stream}"


class SealEntry(models.Model):
    """One sealed record: HMAC over its stream, position, id and content (or its deliberate end)."""

    stream = models.CharField(max_length=20, choices=Stream.choices)
    seq = models.PositiveBigIntegerField()
    record_id = models.BigIntegerField()
    # Deleted on purpose (retention): the position stays accounted for.
    retired = models.BooleanField(default=False)
    mac = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "seq"], name="incidents_seal_seq_unique"),
            models.UniqueConstraint(
                fields=["stream", "record_id"], name="incidents_seal_record_unique"
            ),
        ]
        verbose_name_plural = "seal entries"

    def __str__(self):
        return f"seal {self.stream} #{self.seq} (record {self.record_id})"


class SealEvent(models.Model):
    """A deliberate re-seal: erasure, retention, a deleted user, or an operator's decision."""

    class Kind(models.TextChoices):
        ERASURE = "erasure", "Erasure scrubbed records"
        RETENTION = "retention", "Retention purged records"
        USER_DELETED = "user_deleted", "A deleted user's records were unlinked"
        MANUAL = "manual", "Operator accepted the current records"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    stream = models.CharField(max_length=20, choices=Stream.choices)
    count = models.PositiveIntegerField()
    reason = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} re-seal of {self.count} {self.stream} at {self.created_at:%Y-%m-%d}"


class DetectorCursor(models.Model):
    """How far the detectors have read one source (the last primary key seen)."""

    source = models.CharField(max_length=20, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.source} read up to {self.last_id}"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class SecurityAlert(models.Model):
    """A pattern a detector found. Evidence is ids, counts, digests and IPs: never names."""

    class Detector(models.TextChoices):
        BRUTE_FORCE = "brute_force", "Brute force on one account"
        CREDENTIAL_STUFFING = "credential_stuffing", "Many accounts tried from one IP"
        REFRESH_REUSE = "refresh_reuse", "Refresh token reused"
        STAFF_MASS_READ = "staff_mass_read", "Staff read many people's records"
        EXPORT_BURST = "export_burst", "Burst of personal data exports"
        ERASURE_BURST = "erasure_burst", "Burst of erasures"
        ADMIN_NEW_NETWORK = "admin_new_network", "Admin login from a new network"
        INACTIVE_LOGIN = "inactive_login", "Login after long inactivity"
        STAFF_OFF_HOURS = "staff_off_hours", "Staff activity outside opening hours"
        AUDIT_TAMPERING = "audit_tampering", "Security records altered"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        CLOSED = "closed", "Closed"

    detector = models.CharField(max_length=30, choices=Detector.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.NEW)
    # The same pattern (detector + what it is about) seen again updates this alert.
    dedupe_key = models.CharField(max_length=200, db_index=True)
    evidence = models.JSONField(default=dict)
    occurrences = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        "Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )

    # The keys of `evidence` that name a person (account ids), and those that say where a
    # person's requests came from (IPs, and the networks derived from them). A key holds one
    # value or a list. Incident scope and erasure both read an alert through these.
    PERSON_KEYS = ("user_id", "actor_id", "user_ids")
    ADDRESS_KEYS = ("ip", "ips", "network")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "severity"])]

    def __str__(self):
        return f"alert {self.pk}: {self.detector} ({self.severity})"

    def _evidence_values(self, keys) -> list:
        values = []
        for key in keys:
            value = self.evidence.get(key)
            values.extend(value if isinstance(value, list) else [value])
        return values

    def named_users(self) -> set[int]:
        """The account ids the evidence names."""
        return {
            value
            for value in self._evidence_values(self.PERSON_KEYS)
            if isinstance(value, int) and not isinstance(value, bool)
        }

    def named_addresses(self) -> set[str]:
        """The IPs and networks the evidence names."""
        return {
            value
            for value in self._evidence_values(self.ADDRESS_KEYS)
            if isinstance(value, str) and value
        }


class Incident(EncryptedModel):
    """A security incident: its window, scope, containment, notifications and report."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONTAINED = "contained", "Contained"
        CLOSED = "closed", "Closed"

    reference = models.CharField(max_length=20, unique=True, editable=False)
    # Free text typed by staff: encrypted, like any text that may name someone.
    title = EncryptedCharField(max_length=200)
    description = EncryptedTextField(max_length=5000, blank=True, default="")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.HIGH)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.OPEN)
    occurred_from = models.DateTimeField()
    occurred_to = models.DateTimeField(null=True, blank=True, help_text="Empty: still going on.")
    # Scope of the exposure: accounts believed compromised and networks of the attacker; with
    # everyone set, every person whose data the system holds.
    scope_user_ids = models.JSONField(default=list, blank=True)
    scope_networks = models.JSONField(default=list, blank=True)
    scope_everyone = models.BooleanField(default=False)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    contained_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.reference


class IncidentEvent(models.Model):
    """One step of an incident's timeline (details: ids, counts and networks, no names)."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Incident opened"
        ALERT_LINKED = "alert_linked", "Alert linked"
        SESSIONS_REVOKED = "sessions_revoked", "Sessions revoked"
        ACCOUNTS_DISABLED = "accounts_disabled", "Accounts disabled"
        PASSWORD_CHANGE_FORCED = "password_change_forced", "Password change forced"
        KEYS_ROTATED = "keys_rotated", "Field keys rotated"
        NETWORK_BLOCKED = "network_blocked", "Network blocked"
        PEOPLE_NOTIFIED = "people_notified", "Affected people notified"
        REPORT_DOWNLOADED = "report_downloaded", "Authority report downloaded"
        CLOSED = "closed", "Incident closed"

    # Containment: these kinds are the measures listed in the authority report.
    MEASURES = frozenset(
        {
            Kind.SESSIONS_REVOKED,
            Kind.ACCOUNTS_DISABLED,
            Kind.PASSWORD_CHANGE_FORCED,
            Kind.KEYS_ROTATED,
            Kind.NETWORK_BLOCKED,
            Kind.PEOPLE_NOTIFIED,
        }
    )

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    details = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.incident_id}: {self.kind} at {self.created_at:%Y-%m-%d %H:%M}"


class BlockedNetwork(models.Model):
    """Requests from this network are refused until it expires."""

    network = models.CharField(max_length=43, help_text="CIDR, e.g. 203.0.113.0/24")
    expires_at = models.DateTimeField()
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="blocks"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.network} until {self.expires_at:%Y-%m-%d %H:%M}"
