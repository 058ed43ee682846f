"""Reads of account data, always scoped to the caller."""

from django.conf import settings

from accounts.models import Profile, RecoveryCode, TOTPDevice, User


def profile_get(*, user: User) -> Profile:
    """The caller's own contact details (empty when none were given yet)."""
    return Profile.objects.filter(user=user).first() or Profile(user=user)


def mfa_status(*, user: User) -> dict:
    """The caller's second factor: enrolled, pending, recovery codes left, required."""
    devices = set(TOTPDevice.objects.filter(user=user).values_list("confirmed", flat=True))
    return {
        "enabled": True in devices,
        "pending": False in devices,
        "recovery_codes_left": RecoveryCode.objects.filter(
            device__user=user, device__confirmed=True
        ).count(),
        "required": user.is_staff_role and settings.STAFF_MFA_REQUIRED,
    }
