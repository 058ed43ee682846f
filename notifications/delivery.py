"""Handing one rendered notification to its channel: Django's e-mail backend or the SMS gateway."""

from email.utils import parseaddr
from smtplib import SMTPRecipientsRefused

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from notifications.errors import DeliveryError, PermanentDeliveryError
from notifications.models import Channel, Notification
from notifications.rendering import RenderedMessage
from notifications.sms import get_sms_backend


def deliver(notification: Notification, message: RenderedMessage) -> str:
    """Send the message; the provider's message id. Raises on failure."""
    if notification.channel == Channel.EMAIL:
        return _send_email(notification, message)
    return get_sms_backend().send(
        to=notification.address, body=message.sms, reference=_reference(notification)
    )


def _reference(notification: Notification) -> str:
    # Stable across retries and machines, unique across databases (id + creation time).
    return f"ecar-notification-{notification.pk}-{int(notification.created_at.timestamp())}"


def _send_email(notification: Notification, message: RenderedMessage) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    # The same Message-ID on every retry: a mailbox can drop a copy sent twice after a crash.
    message_id = f"<{_reference(notification)}@{domain}>"
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.address],
        headers={"Message-ID": message_id, "Content-Language": notification.language},
    )
    email.attach_alternative(message.html, "text/html")
    try:
        sent = email.send(fail_silently=False)
    except SMTPRecipientsRefused as exc:
        raise PermanentDeliveryError("The e-mail server refused the recipient.") from exc
    if sent != 1:
        raise DeliveryError("The e-mail backend did not send the message.")
    return message_id
