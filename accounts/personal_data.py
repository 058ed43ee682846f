"""The personal data of the accounts app: export, erasure and retention (privacy registry)."""

import uuid

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import (
    AuthEvent,
    MFAChallenge,
    PasswordHistory,
    Profile,
    RecoveryCodeDevice,
    RotatedRefreshToken,
    TOTPDevice,
    User,
)
from privacy.erasure import audit_scrub, audit_scrub_actor
from privacy.registry import (
    ErasureResult,
    PersonalDataSource,
    RetentionRule,
    older_than,
    purge,
    registry,
)
from privacy.signals import records_changed


def _account_export(user):
    yield {
        "id": user.pk,
        "username": user.username,
        "role": user.role,
        "is_active": user.is_active,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
    }


def _account_erase(user) -> ErasureResult:
    """Disable the login for good and replace the username; the row stays as an anonymous id."""
    OutstandingToken.objects.filter(user=user).delete()  # every refresh token, with its blacklist
    PasswordHistory.objects.filter(user=user).delete()
    # A queryset update: no audit row repeating the old username is written.
    User.objects.filter(pk=user.pk).update(
        username=f"erased-{uuid.uuid4().hex[:20]}",
        password=make_password(None),
        is_active=False,
        is_staff=False,
        is_superuser=False,
        token_generation=F("token_generation") + 1,
    )
    user.groups.clear()
    user.user_permissions.clear()
    audit_scrub(User, [user.pk])
    audit_scrub_actor(user)
    return ErasureResult(erased=1)


def _contact_export(user):
    profile = Profile.objects.filter(user=user).first()
    if profile is not None:
        yield {
            "full_name": profile.full_name,
            "email": profile.email,
            "phone": profile.phone,
            "address": profile.address,
            "language": profile.language,
            "updated_at": profile.updated_at,
        }


def _contact_erase(user) -> ErasureResult:
    pks = list(Profile.objects.filter(user=user).values_list("pk", flat=True))
    deleted, _ = Profile.objects.filter(pk__in=pks).delete()
    audit_scrub(Profile, pks)
    return ErasureResult(erased=deleted)


def _auth_events_export(user):
    events = AuthEvent.objects.filter(user=user).order_by("created_at", "id")
    for event in events.iterator(chunk_size=500):
        yield {
            "kind": event.kind,
            "created_at": event.created_at,
            "ip": event.ip,
            "user_agent": event.user_agent,
        }


def _auth_events_erase(user) -> ErasureResult:
    """Unlink the person's events and drop where they came from; the counts stay for security."""
    events = list(AuthEvent.objects.filter(user=user).values_list("pk", flat=True))
    updated = AuthEvent.objects.filter(pk__in=events).update(
        user=None, ip=None, user_agent="", username_digest=""
    )
    records_changed(AuthEvent, events, reason="erasure")
    return ErasureResult(erased=updated)


def _second_factor_export(user):
    """When each device was enrolled and last used; never a key or a code."""
    for model in (TOTPDevice, RecoveryCodeDevice):
        for device in model.objects.filter(user=user).order_by("pk"):
            yield {
                "kind": model._meta.verbose_name,
                "confirmed": device.confirmed,
                "created_at": device.created_at,
                "last_used_at": device.last_used_at,
            }


def _second_factor_erase(user) -> ErasureResult:
    deleted = sum(
        model.objects.filter(user=user).delete()[0]
        for model in (TOTPDevice, RecoveryCodeDevice, MFAChallenge)
    )
    return ErasureResult(erased=deleted)


def _purge_mfa_challenges(dry_run: bool) -> int:
    return purge(MFAChallenge.objects.filter(expires_at__lt=timezone.now()), dry_run)


def _purge_auth_events(dry_run: bool) -> int:
    cutoff = older_than(settings.AUTH_EVENT_RETENTION_DAYS)
    return purge(AuthEvent.objects.filter(created_at__lt=cutoff), dry_run)


def _purge_tokens(dry_run: bool) -> int:
    """Refresh tokens past their expiry (blacklisted or not) are of no use to anyone."""
    return purge(OutstandingToken.objects.filter(expires_at__lt=timezone.now()), dry_run)


registry.register(
    PersonalDataSource(
        name="account",
        models=(User, PasswordHistory, RotatedRefreshToken),
        export=_account_export,
        erase=_account_erase,
        order=0,
    )
)
registry.register(
    PersonalDataSource(
        name="contact_details",
        models=(Profile,),
        export=_contact_export,
        erase=_contact_erase,
        order=10,
    )
)
registry.register(
    PersonalDataSource(
        name="auth_events",
        models=(AuthEvent,),
        export=_auth_events_export,
        erase=_auth_events_erase,
    )
)
registry.register(
    PersonalDataSource(
        name="second_factor",
        models=(TOTPDevice, RecoveryCodeDevice, MFAChallenge),
        export=_second_factor_export,
        erase=_second_factor_erase,
    )
)
registry.register_retention(RetentionRule("auth_events", _purge_auth_events))
registry.register_retention(RetentionRule("expired_mfa_challenges", _purge_mfa_challenges))
registry.register_retention(RetentionRule("expired_tokens", _purge_tokens))
