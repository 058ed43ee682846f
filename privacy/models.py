"""Building blocks for personal data at rest: encrypted models and encrypted stored files."""

import uuid

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
