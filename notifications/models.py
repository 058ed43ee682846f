"""The outbox: one row per message to one person, and one row per attempt to deliver it."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from privacy.fields import EncryptedCharField, EncryptedJSONField
from privacy.models import EncryptedModel


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"


class Language(models.TextChoices):
    FR = "fr", "Français"
    AR = "ar", "العربية"
    EN = "en", "English"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(EncryptedModel):
    """A message waiting in (or delivered from) the outbox; address and context are encrypted."""

    template = models.CharField(max_length=64)
    language = models.CharField(max_length=2, choices=Language.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    address = EncryptedCharField(max_length=254)
    context = EncryptedJSONField(encoder=DjangoJSONEncoder)
    # Opaque, e.g. "user:42": what export and erasure select by; never a name or an address.
    recipient_ref = models.CharField(max_length=64, db_index=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    # Attempts since enqueued (or requeued by an operator), counted against the maximum.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            # The worker's claim query: due pending rows only.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due_idx",
                condition=models.Q(status="pending"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__in=Channel.values), name="notification_channel_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(language__in=Language.values),
                name="notification_language_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="notification_status_valid"
            ),
        ]

    def __str__(self):
        return f"Notification {self.pk} ({self.template}, {self.channel}, {self.language})"


class Outcome(models.TextChoices):
    SENT = "sent", "Sent"
    RETRY = "retry", "Failed, will be retried"
    FAILED = "failed", "Failed, given up"


class Delivery(models.Model):
    """One attempt to hand a notification to the e-mail server or SMS gateway (no personal data)."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    attempt = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, choices=Channel.choices)
    attempted_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    provider_message_id = models.CharField(max_length=255, blank=True)
    # The exception's class only: its message may quote the address.
    error_class = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ("attempted_at", "id")
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "attempt"], name="delivery_one_row_per_attempt"
            ),
        ]

    def __str__(self):
        return f"Delivery {self.pk} of notification {self.notification_id}: {self.outcome}"
