"""Reads of the outbox: a person's notifications, and those past their retention."""

from django.db.models import QuerySet

from notifications.models import Notification, Status


def notification_list_for(*, recipient_ref: str) -> QuerySet[Notification]:
    """One person's notifications, oldest first, with their delivery attempts."""
    return (
        Notification.objects.filter(recipient_ref=recipient_ref)
        .prefetch_related("deliveries")
        .order_by("created_at", "id")
    )


def notification_list_finished_before(*, before) -> QuerySet[Notification]:
    """Sent or failed notifications finished before `before` (pending ones are never purged)."""
    return Notification.objects.filter(
        status__in=[Status.SENT, Status.FAILED], finished_at__lt=before
    )
