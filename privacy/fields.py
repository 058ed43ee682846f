"""Encrypted model fields (AES-256-GCM, column-bound) and their blind indexes.

The database holds "e1:<key id>:<nonce+ciphertext+tag>": the key id allows rotation, and the
associated data `app_label.model.field` stops a value copied into another column from decrypting.
Encrypted columns cannot be filtered (except `isnull`) or ordered: exact lookups go through a
BlindIndexField, an HMAC of the normalised value in its own indexed column.
"""

import json
import logging

from django.core.exceptions import FieldError
from django.db import models
from django.db.models import Value

from privacy.crypto import DecryptionError, blind_index, decrypt_value, encrypt_value

logger = logging.getLogger("ecar.privacy")


class EncryptedFieldError(DecryptionError):
    """A stored value of an encrypted field failed to decrypt (tampered, moved, unknown key)."""


class EncryptedFieldMixin:
    """Encrypt on the way to the database, decrypt on the way back; refuse lookups."""

    encrypted = True

    def db_type(self, connection):
        return "text"

    def rel_db_type(self, connection):
        return "text"

    def cast_db_type(self, connection):
        return "text"

    def db_check(self, connection):
        # The column holds ciphertext: a plain field's column check (JSON validity) cannot apply.
        return None

    @property
    def associated_data(self) -> bytes:
        return f"{self.model._meta.label_lower}.{self.name}".encode()

    def to_plaintext(self, value) -> str:
        """The plaintext string stored for a Python value."""
        return str(value)

    def from_plaintext(self, text: str):
        """The Python value of a decrypted plaintext string."""
        return self.to_python(text)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt_value(self.to_plaintext(value).encode(), aad=self.associated_data)

    def get_db_prep_value(self, value, connection, prepared=False):
        # The ciphertext is a plain string: no backend adaptation (dates, JSON) applies to it.
        return value if prepared else self.get_prep_value(value)

    def get_db_prep_save(self, value, connection):
        if hasattr(value, "as_sql"):
            if isinstance(value, Value):
                # A bare Value would otherwise reach the column as plaintext.
                return self.get_db_prep_value(value.value, connection)
            if getattr(value, "_output_field_or_none", None) is self:
                # bulk_update()'s CASE of Value(..., output_field=self): each one encrypts itself.
                return value
            raise FieldError(
                f"{self.model._meta.label}.{self.name} is encrypted: update it with plain values, "
                "not database expressions."
            )
        return self.get_db_prep_value(value, connection, prepared=False)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        try:
            text = decrypt_value(value, aad=self.associated_data).decode()
        except DecryptionError as exc:
            # Which column failed, never the ciphertext: the caller decides what to do.
            logger.error("Cannot decrypt %s: %s", self.associated_data.decode(), exc)
            raise EncryptedFieldError(
                f"Cannot decrypt a value of {self.associated_data.decode()}: {exc}"
            ) from None
        return self.from_plaintext(text)

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.model._meta.label}.{self.name} is encrypted and cannot be filtered with "
                f"'{lookup_name}'; look it up through its blind index."
            )
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name):
        raise FieldError(f"{self.model._meta.label}.{self.name} is encrypted: no transforms.")


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    pass


class EncryptedCharField(EncryptedFieldMixin, models.CharField):
    """A CharField whose max_length applies to the plaintext (the column is unbounded text)."""


class EncryptedEmailField(EncryptedFieldMixin, models.EmailField):
    pass


class EncryptedDateField(EncryptedFieldMixin, models.DateField):
    def to_plaintext(self, value) -> str:
        return value.isoformat()


class EncryptedJSONField(EncryptedFieldMixin, models.JSONField):
    def to_plaintext(self, value) -> str:
        return json.dumps(value, cls=self.encoder, separators=(",", ":"), sort_keys=True)

    def from_plaintext(self, text: str):
        return json.loads(text, cls=self.decoder)


class BlindIndexField(models.CharField):
    """HMAC-SHA256 of the normalised value of `source`, recomputed on every save."""

    def __init__(self, *args, source: str, normaliser=None, **kwargs):
        self.source = source
        self.normaliser = normaliser
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("null", True)
        kwargs.setdefault("db_index", not kwargs.get("unique", False))
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if self.normaliser is not None:
            kwargs["normaliser"] = self.normaliser
        return name, path, args, kwargs

    @property
    def purpose(self) -> str:
        return f"{self.model._meta.label_lower}.{self.source}"

    def digest(self, value) -> str | None:
        """The index value of a plaintext (None for empty: empty values are not indexed)."""
        if value is None or value == "":
            return None
        normalised = self.normaliser(value) if self.normaliser else str(value)
        return blind_index(normalised, purpose=self.purpose)

    def pre_save(self, model_instance, add):
        value = self.digest(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value
