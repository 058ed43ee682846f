"""Reads of account data, always scoped to the caller."""

from accounts.models import Profile, User


def profile_get(*, user: User) -> Profile:
    """The caller's own contact details (empty when none were given yet)."""
    return Profile.objects.filter(user=user).first() or Profile(user=user)
