"""Give a super-admin a TOTP device for the admin site and print its otpauth:// URI."""

from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User


class Command(BaseCommand):
    help = (
        "Create a TOTP device for a staff user (the admin site requires one) and print the "
        "otpauth:// URI to add to an authenticator app. Replaces the user's existing devices."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None or not user.is_staff:
            raise CommandError("No staff user with that username.")
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        self.stdout.write(device.config_url)
