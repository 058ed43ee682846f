"""What django-auditlog records in this app: alerts, incidents, their steps and blocks."""

from auditlog.registry import auditlog

from incidents.models import BlockedNetwork, Incident, IncidentEvent, SecurityAlert
from privacy.audit import register_personal_model

register_personal_model(Incident)
for model in (SecurityAlert, IncidentEvent, BlockedNetwork):
    auditlog.register(model)
