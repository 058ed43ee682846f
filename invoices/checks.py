"""System check: with e-invoicing on, the signing certificate must be usable (and not about to
expire without anyone noticing)."""

import datetime

from django.conf import settings
from django.core import checks

from invoices.teif.certificate import CertificateError, load_identity

EXPIRY_WARNING_DAYS = 30


@checks.register(checks.Tags.security, deploy=False)
def teif_certificate_check(app_configs=None, **kwargs):
    if not settings.TEIF_ENABLED:
        return []
    try:
        identity = load_identity(settings.TEIF_SIGNING_CERT, settings.TEIF_SIGNING_PASSPHRASE_FILE)
    except CertificateError as exc:
        return [checks.Error(str(exc), id="invoices.E001")]
    left = identity.not_after - datetime.datetime.now(datetime.UTC)
    if left < datetime.timedelta(days=EXPIRY_WARNING_DAYS):
        return [
            checks.Warning(
                f"The TEIF signing certificate expires on {identity.not_after:%Y-%m-%d}: "
                "renew it with the certification authority (TunTrust).",
                id="invoices.W001",
            )
        ]
    return []
