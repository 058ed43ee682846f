"""Give a staff user an authenticator for the admin site and print its otpauth:// URI."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import RecoveryCodeDevice, TOTPDevice, User


class Command(BaseCommand):
    help = (
        "Create a TOTP device for a staff user (the first super-admin, or one locked out) and "
        "print the otpauth:// URI (issuer ECAR) to add to an authenticator app. Replaces the "
        "user's devices and recovery codes: new codes come from the admin's two-factor page."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    @transaction.atomic
    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None or not user.is_staff:
            raise CommandError("No staff user with that username.")
        TOTPDevice.objects.filter(user=user).delete()
        RecoveryCodeDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        self.stdout.write(device.config_url)
