"""Building blocks for personal data at rest: encrypted models and encrypted stored files."""

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from privacy.fields import BlindIndexField, EncryptedCharField
from privacy.querysets import EncryptedManager
from privacy.storage import encrypted_storage


class EncryptedModel(models.Model):
    """Base of every model with encrypted fields: guarded queryset, blind indexes kept in sync."""

    objects = EncryptedManager()

    class Meta:
        abstract = True

    def save(self, *args, update_fields=None, **kwargs):
        if update_fields is not None:
            # Saving a source field must also save its blind index.
            fields = set(update_fields)
            fields |= {
                f.name
                for f in self._meta.fields
                if isinstance(f, BlindIndexField) and f.source in fields
            }
            update_fields = fields
        super().save(*args, update_fields=update_fields, **kwargs)

    def validate_unique(self, exclude=None):
        """Also a unique blind index: another row with the same value of its (encrypted) source.

        The index column is never in a form, so the check is keyed on the source field: model
        forms (the admin) and services' full_clean() report it on the field the user typed.
        """
        exclude = set(exclude or ())
        errors = {}
        try:
            super().validate_unique(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        others = type(self)._default_manager.exclude(pk=self.pk)
        for field in self._meta.fields:
            if not (isinstance(field, BlindIndexField) and field.unique):
                continue
            value = getattr(self, field.source)
            if field.source in exclude or value in (None, "") or field.source in errors:
                continue
            try:
                digest = field.digest(value)
            except ValidationError:
                continue  # an invalid value: its own field error says so
            if others.filter(**{field.attname: digest}).exists():
                errors[field.source] = [self.unique_error_message(type(self), (field.source,))]
        if errors:
            raise ValidationError(errors)


class StoredFile(EncryptedModel):
    """An uploaded file, encrypted on disk under a random name; its metadata encrypted here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(storage=encrypted_storage, max_length=255)
    original_name = EncryptedCharField(max_length=255)
    content_type = EncryptedCharField(max_length=100)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"stored file {self.id}"


class AccessRecord(models.Model):
    """Someone read a person's personal data: who, whose, what, when and from where."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_role = models.CharField(max_length=20, blank=True)
    # The person whose data was read, when they have an account (walk-in customers have none).
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="access_records",
    )
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.CharField(max_length=64)
    subject = GenericForeignKey("subject_type", "subject_id")
    action = models.CharField(max_length=40, help_text="e.g. customer.read, document.download")
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self):
        return f"{self.action} by user {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"


class PrivacyNotice(models.Model):
    """A published version of the privacy notice; the latest one is current."""

    version = models.CharField(max_length=20, unique=True)
    text = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-published_at", "-id"]

    def __str__(self):
        return f"privacy notice {self.version}"


class Consent(models.Model):
    """One express consent decision (append-only: the latest per purpose is in force)."""

    class Purpose(models.TextChoices):
        PRIVACY_NOTICE = "privacy_notice", "Privacy notice accepted"
        MARKETING = "marketing", "Marketing messages"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    granted = models.BooleanField()
    notice_version = models.CharField(max_length=20, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "purpose", "created_at"])]

    def __str__(self):
        return f"{self.purpose} {'granted' if self.granted else 'withdrawn'} by user {self.user_id}"


class ErasureLedgerEntry(models.Model):
    """A person was erased. Pseudonymous: internal ids and dates only, no personal data.

    Also appended to the ledger file (ERASURE_LEDGER_PATH), which survives a database restore.
    """

    user_id = models.BigIntegerField(db_index=True)
    subject_ids = models.JSONField(default=dict, help_text="Internal ids per source.")
    erased_at = models.DateTimeField(default=timezone.now)
    requested_by_role = models.CharField(max_length=20)

    class Meta:
        ordering = ["-erased_at", "-id"]
        verbose_name_plural = "erasure ledger entries"

    def __str__(self):
        return f"erasure of user {self.user_id} at {self.erased_at:%Y-%m-%d}"
