"""The outbox's personal data (address and context of each message): export, erasure, retention.

Notifications name their recipient by an opaque reference; a user's is "user:<id>".
"""

from django.conf import settings

from notifications.models import Delivery, Notification
from notifications.selectors import notification_list_finished_before, notification_list_for
from notifications.services import notification_erase_for
from privacy.registry import (
    ErasureResult,
    PersonalDataSource,
    RetentionRule,
    older_than,
    purge,
    registry,
)


def user_recipient_ref(user) -> str:
    """The recipient reference of a user account."""
    return f"user:{user.pk}"


def _export(user):
    for notification in notification_list_for(recipient_ref=user_recipient_ref(user)):
        yield {
            "id": notification.pk,
            "template": notification.template,
            "language": notification.language,
            "channel": notification.channel,
            "address": notification.address,
            "context": notification.context,
            "status": notification.status,
            "created_at": notification.created_at,
            "sent_at": notification.sent_at,
            "deliveries": [
                {"attempted_at": delivery.attempted_at, "outcome": delivery.outcome}
                for delivery in notification.deliveries.all()
            ],
        }


def _erase(user) -> ErasureResult:
    return ErasureResult(erased=notification_erase_for(recipient_ref=user_recipient_ref(user)))


registry.register(
    PersonalDataSource(
        name="notifications",
        models=(Notification, Delivery),
        export=_export,
        erase=_erase,
        order=80,
    )
)
registry.register_retention(
    RetentionRule(
        "notifications",
        lambda dry_run: purge(
            notification_list_finished_before(
                before=older_than(settings.NOTIFICATIONS_RETENTION_DAYS)
            ),
            dry_run,
        ),
    )
)
