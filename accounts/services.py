"""Account and authentication use cases: each one transactional and recorded as an auth event."""

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import AuthEvent, Profile, Role, RotatedRefreshToken, User
from accounts.network import client_ip, user_agent
from accounts.throttling import (
    login_throttle_hit,
    normalise_username,
    password_check_throttle_hit,
)
from accounts.tokens import blacklist_all, token_has_mfa, token_pair
from config.exceptions import ApplicationError, Throttled
from privacy.normalise import normalise_phone

INVALID_CREDENTIALS = "No active account found with the given credentials."


def username_digest(username: str) -> str:
    """A keyed hash of an attempted username: correlates failures without storing the name."""
    return salted_hmac(
        "accounts.auth_event.username", normalise_username(username), algorithm="sha256"
    ).hexdigest()


def auth_event_record(*, request, kind: str, user=None, username: str = "") -> AuthEvent:
    """Store one authentication event with the resolved client IP and the user agent."""
    return AuthEvent.objects.create(
        kind=kind,
        user=user,
        username_digest=username_digest(username) if username else "",
        ip=client_ip(request),
        user_agent=user_agent(request),
    )


def password_policy_check(password: str, user: User, *, field: str) -> None:
    """Refuse a password that breaks the policy, with the reasons under the input's field name."""
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ApplicationError(
            "The password does not meet the password policy.",
            code="password_policy",
            extra={field: exc.messages},
        ) from exc


@transaction.atomic
def user_create(
    *, username: str, password: str, role: str = Role.CUSTOMER, contact: dict | None = None
) -> User:
    """Create a user (password policy checked) with their contact details."""
    password_policy_check(password, User(username=username, role=role), field="password")
    if role == Role.SUPER_ADMIN:
        user = User.objects.create_superuser(username=username, password=password)
    else:
        user = User.objects.create_user(username=username, password=password, role=role)
    _apply_contact(Profile(user=user), _clean_contact(contact or {}))
    return user


CONTACT_FIELDS = ("full_name", "email", "phone", "address", "language")
# Changing where the account can be reached needs the current password (account takeover).
SENSITIVE_CONTACT_FIELDS = ("email", "phone")


def _invalid_contact(errors: dict) -> ApplicationError:
    return ApplicationError("Invalid contact details.", code="invalid", extra=errors)


def _clean_contact(contact: dict) -> dict:
    """The given contact fields in their stored form (trimmed; phone in E.164; empty as None)."""
    cleaned = {}
    for name in CONTACT_FIELDS:
        if name not in contact:
            continue
        value = (contact[name] or "").strip()
        if name in SENSITIVE_CONTACT_FIELDS:
            value = value or None
        if name == "phone" and value:
            try:
                value = normalise_phone(value)
            except DjangoValidationError as exc:
                raise _invalid_contact({"phone": exc.messages}) from exc
        cleaned[name] = value
    return cleaned


def _apply_contact(profile: Profile, cleaned: dict) -> None:
    """Validate and save cleaned contact fields; one account per e-mail address."""
    for name, value in cleaned.items():
        setattr(profile, name, value)
    try:
        profile.full_clean(exclude=["user"])
    except DjangoValidationError as exc:
        raise _invalid_contact(exc.message_dict) from exc
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError as exc:  # a concurrent registration won the unique blind index
        email = Profile._meta.get_field("email")
        raise _invalid_contact({"email": [email.error_messages["unique"]]}) from exc


def _current_password_ok(request, user: User, password: str | None) -> bool:
    """Check the caller's current password, throttled per user against guessing."""
    retry_after = password_check_throttle_hit(request, user)
    if retry_after is not None:
        raise Throttled(retry_after)
    return bool(password) and user.check_password(password)


@transaction.atomic
def profile_update(
    *, request, user: User, contact: dict, current_password: str | None = None
) -> Profile:
    """Update the caller's contact details; e-mail or phone changes need the current password."""
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    cleaned = _clean_contact(contact)
    changes_reachability = any(
        name in cleaned and cleaned[name] != getattr(profile, name)
        for name in SENSITIVE_CONTACT_FIELDS
    )
    if changes_reachability and not _current_password_ok(request, user, current_password):
        raise ApplicationError(
            "Changing the e-mail address or phone number needs your current password.",
            code="password_required",
            status_code=403,
            extra={"current_password": ["Enter your current password."]},
        )
    _apply_contact(profile, cleaned)
    return profile


def auth_password_check(*, request, username: str, password: str) -> User:
    """Check throttling and the password; the user when both pass.

    Wrong password, unknown user and inactive user give the same answer (no account enumeration).
    """
    retry_after = login_throttle_hit(request, username)
    if retry_after is not None:
        auth_event_record(request=request, kind=AuthEvent.Kind.LOGIN_THROTTLED, username=username)
        raise Throttled(retry_after)

    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        known = User.objects.filter(username=username).first()
        auth_event_record(
            request=request, kind=AuthEvent.Kind.LOGIN_FAILED, user=known, username=username
        )
        raise ApplicationError(INVALID_CREDENTIALS, code="invalid_credentials", status_code=401)
    return user


@transaction.atomic
def auth_login_complete(*, request, user: User, mfa: bool) -> dict:
    """Every factor passed: record the login and issue a token pair."""
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    auth_event_record(request=request, kind=AuthEvent.Kind.LOGIN_SUCCEEDED, user=user)
    return token_pair(user, mfa=mfa)


def _invalid_token() -> ApplicationError:
    return ApplicationError("Token is invalid or expired.", code="token_not_valid", status_code=401)


def _decode_refresh(raw: str) -> dict:
    """Verify a refresh token's signature, expiry and type; the blacklist is the caller's job."""
    try:
        payload = token_backend.decode(raw, verify=True)
    except TokenBackendError as exc:
        raise _invalid_token() from exc
    if payload.get(jwt_settings.TOKEN_TYPE_CLAIM) != "refresh" or not payload.get(
        jwt_settings.JTI_CLAIM
    ):
        raise _invalid_token()
    return payload


def _blacklist_once(outstanding: OutstandingToken) -> bool:
    """Blacklist a refresh token; False when it already was (the token is being reused)."""
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        return False
    return True


def token_refresh(*, request, raw_token: str) -> dict:
    """Rotate a refresh token: blacklist it and issue a new pair, atomically.

    A refresh token presented again after it was rotated was copied: it is treated as theft, and
    every outstanding token of its user is revoked (the attacker's and the victim's alike). Of two
    concurrent refreshes with one token, exactly one wins; the other counts as reuse. A token
    that was revoked otherwise (logout, password change) is merely invalid.
    """
    payload = _decode_refresh(raw_token)
    with transaction.atomic():
        # The row lock serialises concurrent refreshes of one token on PostgreSQL; the unique
        # one-to-one blacklist row settles it on any database.
        outstanding = (
            OutstandingToken.objects.select_for_update()
            .filter(jti=payload[jwt_settings.JTI_CLAIM], user__isnull=False)
            .first()
        )
        if outstanding is None:
            raise _invalid_token()
        user = User.objects.get(pk=outstanding.user_id)
        if user.password_change_required:
            raise password_change_required_error()
        if _blacklist_once(outstanding):
            RotatedRefreshToken.objects.create(token=outstanding)
            reused = False
        else:
            reused = RotatedRefreshToken.objects.filter(token=outstanding).exists()
            if not reused:
                raise _invalid_token()
        if reused:
            _revoke(user)
            auth_event_record(request=request, kind=AuthEvent.Kind.REFRESH_REUSED, user=user)
        elif user.is_active:
            tokens = token_pair(user, mfa=token_has_mfa(payload))
            auth_event_record(request=request, kind=AuthEvent.Kind.TOKEN_REFRESHED, user=user)
    # Raised after the block on purpose: the revocation above must be committed.
    if reused:
        raise ApplicationError(
            "Token has already been used: every session of this account was signed out.",
            code="token_reused",
            status_code=401,
        )
    if not user.is_active:
        raise _invalid_token()
    return tokens


def _revoke(user: User) -> None:
    """End every session of a user: refresh tokens blacklisted, access tokens' generation bumped."""
    blacklist_all(user)
    User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
    user.refresh_from_db(fields=["token_generation"])


@transaction.atomic
def user_revoke_sessions(*, request, user: User) -> None:
    """End every session of a user at once (deactivation, incident containment)."""
    _revoke(user)
    auth_event_record(request=request, kind=AuthEvent.Kind.TOKENS_REVOKED, user=user)


@transaction.atomic
def user_require_password_change(*, request, user: User) -> None:
    """End every session of a user and admit only a password change at their next login."""
    user.password_change_required = True
    user.save(update_fields=["password_change_required"])
    user_revoke_sessions(request=request, user=user)


@transaction.atomic
def user_deactivate(*, request, user: User) -> None:
    """Disable a login and end every session of it at once."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    user_revoke_sessions(request=request, user=user)


def password_change_required_error() -> ApplicationError:
    return ApplicationError(
        "Change your password first: log in, then POST /api/password/change/.",
        code="password_change_required",
        status_code=403,
    )


@transaction.atomic
def auth_logout(*, request, raw_token: str) -> None:
    """Blacklist a refresh token and end its user's access tokens; idempotent."""
    payload = _decode_refresh(raw_token)
    outstanding = OutstandingToken.objects.filter(
        jti=payload[jwt_settings.JTI_CLAIM], user__isnull=False
    ).first()
    if outstanding is None:
        raise _invalid_token()
    BlacklistedToken.objects.get_or_create(token=outstanding)
    User.objects.filter(pk=outstanding.user_id).update(token_generation=F("token_generation") + 1)
    auth_event_record(request=request, kind=AuthEvent.Kind.LOGGED_OUT, user=outstanding.user)


@transaction.atomic
def password_change(*, request, user: User, current_password: str, new_password: str) -> dict:
    """Change the caller's password, end every other session and return a fresh token pair."""
    if not _current_password_ok(request, user, current_password):
        raise ApplicationError(
            "The current password is wrong.",
            code="invalid_password",
            extra={"current_password": ["The current password is wrong."]},
        )
    password_policy_check(new_password, user, field="new_password")
    user.set_password(new_password)
    user.password_change_required = False
    user.save(update_fields=["password", "password_change_required"])
    _revoke(user)
    auth_event_record(request=request, kind=AuthEvent.Kind.PASSWORD_CHANGED, user=user)
    return token_pair(user, mfa=token_has_mfa(request.auth))


def refresh_cookie_settings() -> dict:
    """Attributes of the HttpOnly cookie that carries web clients' refresh token."""
    return {
        "key": settings.REFRESH_COOKIE_NAME,
        "max_age": int(jwt_settings.REFRESH_TOKEN_LIFETIME.total_seconds()),
        "path": settings.REFRESH_COOKIE_PATH,
        "secure": settings.REFRESH_COOKIE_SECURE,
        "httponly": True,
        "samesite": "Strict",
    }
