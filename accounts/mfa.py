"""Second factor use cases: login challenges, TOTP enrolment, recovery codes and resets.

Every staff account (super-admin, technician) needs one under STAFF_MFA_REQUIRED; customers may
opt in. Whoever has a confirmed authenticator always needs a code, wherever they sign in.
"""

import base64
import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import timedelta

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import services
from accounts.models import (
    AuthEvent,
    MFAChallenge,
    RecoveryCode,
    RecoveryCodeDevice,
    TOTPDevice,
    User,
    recovery_code_digest,
)
from accounts.throttling import mfa_throttle_hit
from config.exceptions import ApplicationError, Throttled

INVALID_CODE = "The code is wrong or was already used."


@dataclass
class LoginOutcome:
    """What a login step produced: tokens, or a challenge waiting for the second factor."""

    user: User
    tokens: dict | None = None
    challenge: str | None = None
    enrolment_required: bool = False


def mfa_enabled(user: User) -> bool:
    """Whether the user has a confirmed authenticator (then every login needs a code)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_enrolment_required(user: User) -> bool:
    """A staff account without an authenticator while the policy requires one: it may only enrol."""
    return settings.STAFF_MFA_REQUIRED and user.is_staff_role and not mfa_enabled(user)


def _challenge_digest(challenge: str) -> str:
    return hashlib.sha256(challenge.encode()).hexdigest()


def _device_for(*, user: User, code: str):
    """The user's device that `code` is meant for, locked for the verification.

    Digits go to the authenticator, anything else to the recovery codes: trying both would count
    a failure against the device that was not meant.
    """
    model = TOTPDevice if code.isdigit() else RecoveryCodeDevice
    return model.objects.select_for_update().filter(user=user, confirmed=True).first()


def _device_wait(device) -> float | None:
    """Seconds left of the device's own back-off after failures (1, 2, 4 ... s), or None."""
    allowed, _ = device.verify_is_allowed()
    if allowed:
        return None
    delay = device.get_throttle_factor() * 2 ** (device.throttling_failure_count - 1)
    elapsed = (timezone.now() - device.throttling_failure_timestamp).total_seconds()
    return max(delay - elapsed, 1)


def mfa_verify_code(*, request, user: User, code: str):
    """Check a second-factor code of the user, throttled per account and per client IP.

    Returns the device that accepted it; raises when refused. The device's throttling state and
    the auth event are committed before the refusal is raised.
    """
    retry_after = mfa_throttle_hit(request, user)
    if retry_after is not None:
        services.auth_event_record(request=request, kind=AuthEvent.Kind.MFA_THROTTLED, user=user)
        raise Throttled(retry_after)
    code = (code or "").strip()
    with transaction.atomic():
        device = _device_for(user=user, code=code)
        wait = _device_wait(device) if device is not None else None
        if wait is None and device is not None and not device.verify_token(code):
            device = None
        if wait is not None:
            event = AuthEvent.Kind.MFA_THROTTLED
        elif device is None:
            event = AuthEvent.Kind.MFA_FAILED
        elif isinstance(device, RecoveryCodeDevice):
            event = AuthEvent.Kind.RECOVERY_CODE_USED
        else:
            event = None
        if event:
            services.auth_event_record(request=request, kind=event, user=user)
    if wait is not None:
        raise Throttled(wait)
    if device is None:
        raise ApplicationError(INVALID_CODE, code="invalid_code", status_code=401)
    return device


def mfa_login(*, request, username: str, password: str, otp: str = "") -> LoginOutcome:
    """Password first; then tokens, a challenge for the second factor, or (with `otp`) both."""
    user = services.auth_password_check(request=request, username=username, password=password)
    if not mfa_enabled(user):
        tokens = services.auth_login_complete(request=request, user=user, mfa=False)
        return LoginOutcome(
            user=user, tokens=tokens, enrolment_required=mfa_enrolment_required(user)
        )
    if not otp:
        return LoginOutcome(user=user, challenge=mfa_challenge_issue(request=request, user=user))
    mfa_verify_code(request=request, user=user, code=otp)
    return LoginOutcome(
        user=user, tokens=services.auth_login_complete(request=request, user=user, mfa=True)
    )


@transaction.atomic
def mfa_challenge_issue(*, request, user: User) -> str:
    """A new opaque, single-use challenge bound to the user; only its hash is stored."""
    now = timezone.now()
    MFAChallenge.objects.filter(expires_at__lte=now).delete()
    challenge = secrets.token_urlsafe(32)
    MFAChallenge.objects.create(
        user=user,
        digest=_challenge_digest(challenge),
        expires_at=now + timedelta(seconds=settings.MFA_CHALLENGE_SECONDS),
    )
    services.auth_event_record(request=request, kind=AuthEvent.Kind.MFA_CHALLENGED, user=user)
    return challenge


def mfa_login_verify(*, request, challenge: str, code: str) -> LoginOutcome:
    """Exchange a challenge and a code for tokens; the challenge is consumed on success."""
    pending = (
        MFAChallenge.objects.select_related("user")
        .filter(digest=_challenge_digest(challenge or ""), expires_at__gt=timezone.now())
        .first()
    )
    if pending is None or not pending.user.is_active:
        retry_after = mfa_throttle_hit(request)
        kind = AuthEvent.Kind.MFA_THROTTLED if retry_after else AuthEvent.Kind.MFA_FAILED
        services.auth_event_record(request=request, kind=kind)
        if retry_after:
            raise Throttled(retry_after)
        raise ApplicationError(
            "The challenge is invalid or has expired: log in again.",
            code="mfa_challenge_invalid",
            status_code=401,
        )
    user = pending.user
    mfa_verify_code(request=request, user=user, code=code)
    with transaction.atomic():
        consumed, _ = MFAChallenge.objects.filter(pk=pending.pk).delete()
        if not consumed:  # a concurrent request with the same challenge won
            raise ApplicationError(
                "The challenge was already used: log in again.",
                code="mfa_challenge_invalid",
                status_code=401,
            )
        tokens = services.auth_login_complete(request=request, user=user, mfa=True)
    return LoginOutcome(user=user, tokens=tokens)


def _mfa_required_error() -> ApplicationError:
    return ApplicationError(
        "Sign in with your second factor first.", code="mfa_required", status_code=403
    )


@transaction.atomic
def totp_enrol_start(*, user: User, verified: bool) -> TOTPDevice:
    """A new unconfirmed authenticator for the user, replacing an earlier unconfirmed one.

    Replacing a confirmed authenticator needs a session that passed the second factor.
    """
    if mfa_enabled(user) and not verified:
        raise _mfa_required_error()
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def totp_pending(user: User) -> TOTPDevice | None:
    """The user's authenticator waiting for its first code, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def _recovery_codes_replace(user: User) -> list[str]:
    """New recovery codes (the old ones stop working); returned once, stored as hashes."""
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = []
    for _ in range(settings.MFA_RECOVERY_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 random bits
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(device=device, digest=recovery_code_digest(code)) for code in codes]
    )
    return codes


def totp_enrol_confirm(*, request, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with its first code; it replaces any older one.

    Also issues new recovery codes and ends every earlier session of the user (one that signed in
    without this factor included).
    """
    retry_after = mfa_throttle_hit(request, user)
    if retry_after is not None:
        services.auth_event_record(request=request, kind=AuthEvent.Kind.MFA_THROTTLED, user=user)
        raise Throttled(retry_after)
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("-pk")
            .first()
        )
        if device is None:
            raise ApplicationError(
                "Start the enrolment first.", code="no_pending_device", status_code=400
            )
        wait = _device_wait(device)
        verified = wait is None and device.verify_token(code)
        if verified:
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _recovery_codes_replace(user)
            services.user_revoke_sessions(request=request, user=user)
            services.auth_event_record(request=request, kind=AuthEvent.Kind.MFA_ENROLLED, user=user)
        else:
            kind = AuthEvent.Kind.MFA_THROTTLED if wait else AuthEvent.Kind.MFA_FAILED
            services.auth_event_record(request=request, kind=kind, user=user)
    if wait:
        raise Throttled(wait)
    if not verified:
        raise ApplicationError(INVALID_CODE, code="invalid_code", status_code=400)
    return device, codes


@transaction.atomic
def recovery_codes_regenerate(*, user: User, verified: bool) -> list[str]:
    """A new set of recovery codes for a user with an authenticator, from a verified session."""
    if not (verified and mfa_enabled(user)):
        raise _mfa_required_error()
    return _recovery_codes_replace(user)


@transaction.atomic
def mfa_reset(*, request, actor: User, user: User) -> None:
    """Remove another person's second factors (lost phone) and end all their sessions."""
    if actor.pk == user.pk:
        raise ApplicationError(
            "Another super-admin must reset your second factor.", code="mfa_reset_self"
        )
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCodeDevice.objects.filter(user=user).delete()
    MFAChallenge.objects.filter(user=user).delete()
    services.user_revoke_sessions(request=request, user=user)
    services.auth_event_record(request=request, kind=AuthEvent.Kind.MFA_RESET, user=user)


def qr_code_svg(uri: str) -> str:
    """The QR code of an otpauth:// URI as SVG markup (no Pillow needed)."""
    buffer = io.BytesIO()
    qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathFillImage).save(buffer)
    return buffer.getvalue().decode()
