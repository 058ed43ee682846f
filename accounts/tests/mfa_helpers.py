"""Second-factor helpers for tests: an enrolled authenticator and the codes it would show."""

import time
from datetime import timedelta

from django.utils import timezone
from django_otp.oath import TOTP

from accounts.models import RecoveryCodeDevice, TOTPDevice


def totp_code(device: TOTPDevice, steps: int = 0) -> str:
    """The code the authenticator app shows now (or `steps` time steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol_totp(user) -> TOTPDevice:
    """A confirmed authenticator for the user (as `manage.py totp_enroll` makes one)."""
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def backoff_elapsed(user) -> None:
    """As if the devices' back-off after failed codes (1, 2, 4 ... s) had run out."""
    past = timezone.now() - timedelta(hours=1)
    for model in (TOTPDevice, RecoveryCodeDevice):
        model.objects.filter(user=user).update(throttling_failure_timestamp=past)
