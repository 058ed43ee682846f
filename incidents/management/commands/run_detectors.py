"""One pass: seal the new security records, then run every detector over them."""

from django.core.management.base import BaseCommand

from incidents.sealing import seal_pending
from incidents.services import blocked_networks_publish, detectors_run


class Command(BaseCommand):
    help = (
        "Seal the auth events, access records and audit entries recorded since the last pass, "
        "then run the detectors over them (a cursor per source: nothing is read twice), and "
        "publish the blocked networks to the cache."
    )

    def handle(self, *args, **options):
        sealed = seal_pending()
        self.stdout.write("sealed: " + ", ".join(f"{k}={v}" for k, v in sealed.items()))
        result = detectors_run()
        self.stdout.write("read: " + ", ".join(f"{k}={v}" for k, v in result.read.items()))
        for alert in result.created:
            self.stdout.write(f"new alert {alert.pk}: {alert.detector} ({alert.severity})")
        self.stdout.write(f"{len(result.created)} new alerts, {len(result.updated)} updated")
        # The middleware reads blocks from the cache: restore them after a cache restart.
        blocked_networks_publish()
