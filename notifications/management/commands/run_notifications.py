"""Deliver the outbox: one pass, or passes every few seconds until stopped (--loop)."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from notifications.services import notification_deliver_due, notification_requeue


class Command(BaseCommand):
    help = (
        "Send the due notifications (e-mail, SMS), retrying failed ones with backoff. Safe to run "
        "on several machines at once: each message is claimed with a row lock."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop", action="store_true", help="Keep running; stop on SIGTERM or SIGINT."
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.NOTIFICATIONS_POLL_SECONDS,
            help="Seconds between passes with --loop (default: NOTIFICATIONS_POLL_SECONDS).",
        )
        parser.add_argument("--limit", type=int, help="At most this many messages per pass.")
        parser.add_argument(
            "--requeue",
            nargs="+",
            type=int,
            metavar="ID",
            help="Put these failed notifications back in the outbox (fresh attempts), then exit.",
        )

    def handle(self, *args, loop, interval, limit, requeue, **options):
        if requeue:
            count = notification_requeue(ids=requeue)
            self.stdout.write(f"requeued {count} of {len(set(requeue))}")
            return
        if interval <= 0:
            raise CommandError("--interval must be positive.")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        if not loop:
            self._report(notification_deliver_due(limit=limit), always=True)
            return
        stopping = threading.Event()
        # The message being sent is finished and recorded before the worker exits.
        previous = {
            signum: signal.signal(signum, lambda *_: stopping.set())
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        self.stdout.write(f"Delivering notifications every {interval:g} s.")
        try:
            while not stopping.is_set():
                close_old_connections()
                self._report(notification_deliver_due(limit=limit, stop=stopping.is_set))
                close_old_connections()
                stopping.wait(interval)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write("Stopped.")

    def _report(self, result, always=False):
        if always or result.total:
            self.stdout.write(
                f"sent {result.sent}, to retry {result.retried}, failed {result.failed}"
            )
