"""What django-auditlog records in this app: alerts, incidents, their steps and blocks."""

from auditlog.registry import auditlog

from incidents.models import BlockedNetwork, Incident, IncidentEvent, SecurityAlert
from privacy.audit import register_personal_model

register_personal_model(Incident)
# The evidence is the alert's own record (and erasure drops addresses from it): its diffs are
# not copied into the audit log, only who changed the status and when.
auditlog.register(SecurityAlert, exclude_fields=["evidence", "occurrences", "last_seen"])
for model in (IncidentEvent, BlockedNetwork):
    auditlog.register(model)
