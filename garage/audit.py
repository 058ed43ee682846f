"""django-auditlog tracks every garage model; encrypted values are masked."""

from auditlog.registry import auditlog

from garage import models
from privacy.audit import register_personal_model

for model in (
    models.Customer,
    models.Vehicle,
    models.Appointment,
    models.ServiceOrder,
):
    register_personal_model(model, exclude_fields=["updated_at"])

for model in (
    models.OdometerReading,
    models.VehicleDocument,
    models.Service,
    models.Part,
    models.StockMovement,
    models.LabourLine,
    models.PartLine,
):
    auditlog.register(model)
