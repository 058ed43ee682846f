"""django-auditlog for models with personal data: record that a field changed, never its value."""

from auditlog.registry import auditlog

from privacy.fields import BlindIndexField

REDACTED = "[redacted]"


def redact(value: str) -> str:
    """django-auditlog mask: the whole value (its default mask leaves half of it readable)."""
    return REDACTED


def register_personal_model(model, *, exclude_fields=(), mask_fields=()):
    """Register a model with django-auditlog, masking every encrypted and blind-index field."""
    protected = [
        f.name
        for f in model._meta.fields
        if getattr(f, "encrypted", False) or isinstance(f, BlindIndexField)
    ]
    auditlog.register(
        model,
        exclude_fields=list(exclude_fields),
        mask_fields=sorted({*protected, *mask_fields}),
        mask_callable="privacy.audit.redact",
    )
