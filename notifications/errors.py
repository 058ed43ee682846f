"""Errors of the notifications app: refused messages and failed deliveries."""

from config.exceptions import ApplicationError


class NotificationError(ApplicationError):
    """A notification cannot be enqueued as asked (unknown template, language, bad context...)."""


class DeliveryError(Exception):
    """The e-mail server or SMS gateway did not take the message; the attempt is retried."""


class PermanentDeliveryError(DeliveryError):
    """The message can never be delivered this way (no gateway, refused number): not retried."""
