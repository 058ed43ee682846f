"""Write use cases of the outbox: enqueue in the caller's transaction, deliver due messages."""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from notifications.catalogue import TEMPLATES, context_problems
from notifications.delivery import deliver
from notifications.errors import NotificationError, PermanentDeliveryError
from notifications.models import Channel, Delivery, Language, Notification, Outcome, Status
from notifications.rendering import render_message
from privacy.crypto import DecryptionError
from privacy.normalise import normalise_phone

logger = logging.getLogger("ecar.notifications")

# Plaintext columns hold ids only: these shapes leave no room for an e-mail address or a name.
_RECIPIENT_REF = re.compile(r"[a-z][a-z_]{0,30}:[A-Za-z0-9_-]{1,32}")
_DEDUPE_KEY = re.compile(r"[A-Za-z0-9_:./-]{1,200}")


def notification_enqueue(
    *,
    template: str,
    language: str,
    channel: str,
    address: str,
    context: dict,
    recipient_ref: str,
    dedupe_key: str,
) -> Notification:
    """Put a message in the outbox, inside the caller's transaction; a known dedupe_key is a no-op.

    The row commits or rolls back with the caller's decision (outbox pattern), so it must be
    called inside `transaction.atomic()`; the worker sends it once committed.
    """
    if not transaction.get_connection().in_atomic_block:
        raise NotificationError(
            "notification_enqueue must be called inside the caller's transaction.",
            code="not_in_transaction",
        )
    arguments = {"template": template, "language": language, "channel": channel}
    arguments |= {"address": address, "recipient_ref": recipient_ref, "dedupe_key": dedupe_key}
    not_text = sorted(name for name, value in arguments.items() if not isinstance(value, str))
    if not_text:
        raise NotificationError(
            f"These arguments must be strings: {', '.join(not_text)}.", code="invalid_argument"
        )
    spec = TEMPLATES.get(template)
    if spec is None:
        raise NotificationError(
            f"Unknown template; use one of {', '.join(sorted(TEMPLATES))}.",
            code="unknown_template",
        )
    problems = context_problems(spec, context)
    if problems:
        raise NotificationError(
            f"Invalid context for {template}: {'; '.join(problems)}.",
            code="invalid_context",
            extra={"problems": problems},
        )
    values = {
        "template": template,
        "language": _language(language),
        "channel": _channel(channel),
        "address": _address(channel, address),
        "context": context,
        "recipient_ref": _checked(recipient_ref, _RECIPIENT_REF, "recipient_ref", "user:42"),
    }
    _checked(dedupe_key, _DEDUPE_KEY, "dedupe_key", "incident:7:user:42:email")
    with transaction.atomic():
        # get_or_create inserts in a savepoint and re-reads on a unique violation: of two
        # concurrent transactions with one key, the second waits for the first and gets its row.
        notification, created = Notification.objects.get_or_create(
            dedupe_key=dedupe_key, defaults=values
        )
    if created:
        pk = notification.pk
        transaction.on_commit(lambda: logger.info("notification %s enqueued", pk))
    return notification


def _language(language: str) -> str:
    """fr, ar or en; a regional tag counts as its language (fr-TN: fr), empty as the default."""
    code = language.strip().lower().replace("_", "-").partition("-")[0]
    code = code or settings.NOTIFICATIONS_DEFAULT_LANGUAGE
    if code not in Language.values:
        raise NotificationError(
            f"Unknown language {language[:16]!r}; use one of {', '.join(Language.values)}.",
            code="unknown_language",
        )
    return code


def _channel(channel: str) -> str:
    if channel not in Channel.values:
        raise NotificationError(
            f"Unknown channel; use one of {', '.join(Channel.values)}.", code="unknown_channel"
        )
    return channel


def _address(channel: str, address: str) -> str:
    """The address in its normal form; the error never repeats it."""
    value = address.strip()
    try:
        if channel == Channel.SMS:
            return normalise_phone(value)
        validate_email(value)
    except ValidationError:
        kind = "a phone number" if channel == Channel.SMS else "an e-mail address"
        raise NotificationError(f"The address is not {kind}.", code="invalid_address") from None
    return value


def _checked(value: str, pattern: re.Pattern, name: str, example: str) -> str:
    if not pattern.fullmatch(value):
        raise NotificationError(
            f"{name} must be an opaque id such as {example!r} (letters, digits, ':', '-', '_').",
            code=f"invalid_{name}",
        )
    return value


@dataclass
class DeliveryPass:
    """What one pass of the worker did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed


def notification_deliver_due(
    *, limit: int | None = None, stop: Callable[[], bool] | None = None
) -> DeliveryPass:
    """Deliver the notifications due now, one at a time, until none is left (or `limit`)."""
    result = DeliveryPass()
    # Only what was due when the pass began: a message retried without delay waits for the next.
    due_before = timezone.now()
    while limit is None or result.total < limit:
        if stop is not None and stop():
            break
        outcome = notification_deliver_next(due_before=due_before)
        if outcome is None:
            break
        if outcome == Outcome.SENT:
            result.sent += 1
        elif outcome == Outcome.RETRY:
            result.retried += 1
        else:
            result.failed += 1
    return result


def notification_deliver_next(*, due_before=None) -> str | None:
    """Claim one due notification, try to deliver it, record the attempt; the outcome, or None.

    The row stays locked (FOR UPDATE SKIP LOCKED) until its attempt is recorded: another worker,
    on this machine or another, skips it instead of sending it again.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, next_attempt_at__lte=due_before or timezone.now())
            # Decrypted only inside the attempt: a row that fails to decrypt is a failed attempt.
            .defer("address", "context")
            .order_by("next_attempt_at", "id")
            .first()
        )
        if notification is None:
            return None
        return _attempt(notification)


def _attempt(notification: Notification) -> str:
    attempt = notification.attempts + 1
    provider_message_id, error_class = "", ""
    try:
        message = render_message(
            template=notification.template,
            language=notification.language,
            context=notification.context,
        )
        provider_message_id = deliver(notification, message)
    # Whatever the backend raises is this attempt's outcome, not the end of the worker.
    except Exception as exc:  # noqa: BLE001
        cause = exc.__cause__ if isinstance(exc, PermanentDeliveryError) and exc.__cause__ else exc
        # The class only: exception messages of mail servers and gateways quote the address.
        error_class = f"{type(cause).__module__}.{type(cause).__qualname__}"
        # A row that no longer decrypts (tampered, key lost) will not decrypt on a retry either.
        permanent = isinstance(exc, PermanentDeliveryError | DecryptionError)
        outcome = (
            Outcome.FAILED
            if permanent or attempt >= settings.NOTIFICATIONS_MAX_ATTEMPTS
            else Outcome.RETRY
        )
    else:
        outcome = Outcome.SENT
    now = timezone.now()
    Delivery.objects.create(
        notification=notification,
        # Numbered over the message's whole life: a requeued message starts a new budget only.
        attempt=Delivery.objects.filter(notification=notification).count() + 1,
        channel=notification.channel,
        attempted_at=now,
        outcome=outcome,
        provider_message_id=provider_message_id[:255],
        error_class=error_class[:200],
    )
    notification.attempts = attempt
    if outcome == Outcome.SENT:
        notification.status = Status.SENT
        notification.sent_at = notification.finished_at = now
        logger.info("notification %s sent (attempt %s)", notification.pk, attempt)
    elif outcome == Outcome.FAILED:
        notification.status = Status.FAILED
        notification.finished_at = now
        logger.error(
            "notification %s failed for good (attempt %s): %s",
            notification.pk,
            attempt,
            error_class,
        )
    else:
        notification.next_attempt_at = now + retry_delay(attempt)
        logger.warning(
            "notification %s attempt %s failed, retried later: %s",
            notification.pk,
            attempt,
            error_class,
        )
    notification.save(
        update_fields=["attempts", "status", "sent_at", "finished_at", "next_attempt_at"]
    )
    return outcome


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff after failed attempt number `attempt` (1, 2, ...), capped."""
    seconds = settings.NOTIFICATIONS_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    return timedelta(seconds=min(seconds, settings.NOTIFICATIONS_RETRY_MAX_SECONDS))


@transaction.atomic
def notification_requeue(*, ids: list[int]) -> int:
    """Give failed notifications a fresh budget of attempts, due now; how many were requeued."""
    requeued = Notification.objects.filter(pk__in=ids, status=Status.FAILED).update(
        status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), finished_at=None
    )
    logger.info("notifications %s requeued", ", ".join(str(pk) for pk in sorted(ids)))
    return requeued


@transaction.atomic
def notification_erase_for(*, recipient_ref: str) -> int:
    """Delete every notification (sent or not) of one person, with its deliveries; how many."""
    return (
        Notification.objects.filter(recipient_ref=recipient_ref)
        .delete()[1]
        .get(Notification._meta.label, 0)
    )
