"""Identity: the user (login identifier and role only), password history and auth events."""

import base64
import hashlib
import secrets
import time
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.models import Device, DeviceManager, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from privacy.fields import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedEmailField,
    EncryptedTextField,
)
from privacy.models import EncryptedModel
from privacy.normalise import normalise_email, normalise_phone, validate_phone
from privacy.querysets import EncryptedQuerySet


class Role(models.TextChoices):
    SUPER_ADMIN = "super_admin", "Super-admin"
    TECHNICIAN = "technician", "Technician"
    CUSTOMER = "customer", "Customer"


class UserManager(BaseUserManager.from_queryset(EncryptedQuerySet)):
    """Guarded queryset: users relate to encrypted contact details (no ordering by ciphertext)."""

    use_in_migrations = True

    def _create(self, username, password, **fields):
        if not username:
            raise ValueError("A username is required.")
        user = self.model(username=self.model.normalize_username(username), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, username, password=None, **fields):
        fields.setdefault("role", Role.CUSTOMER)
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(username, password, **fields)

    def create_superuser(self, username, password=None, **fields):
        fields.update(role=Role.SUPER_ADMIN, is_staff=True, is_superuser=True)
        return self._create(username, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A login. Holds no personal data beyond the username: contact details live elsewhere."""

    username = models.CharField(
        max_length=150,
        unique=True,
        validators=[UnicodeUsernameValidator()],
        help_text="150 characters or fewer: letters, digits and @/./+/-/_ only.",
        error_messages={"unique": "A user with that username already exists."},
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Can sign in to the admin site (with a TOTP device)."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    # Every access token carries the generation it was issued under; bumping it ends them all.
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    # Set by incident containment: until the password is changed, only the change is allowed.
    password_change_required = models.BooleanField(
        default=False, help_text="The user must change their password before anything else."
    )

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="accounts_user_role_valid"
            ),
        ]

    def __str__(self):
        return self.username

    def clean(self):
        super().clean()
        if (self.is_staff or self.is_superuser) and self.role != Role.SUPER_ADMIN:
            raise ValidationError(
                {"role": "Only super-admins may be staff or superuser (admin site access)."}
            )

    @property
    def is_super_admin(self) -> bool:
        return self.role == Role.SUPER_ADMIN

    @property
    def is_staff_role(self) -> bool:
        """Super-admins and technicians: one account reaches many people's data."""
        return self.role in (Role.SUPER_ADMIN, Role.TECHNICIAN)

    def _get_session_auth_hash(self, secret=None):
        # Also over the token generation: ending a user's sessions ends their admin sessions too.
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.token_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class Language(models.TextChoices):
    FRENCH = "fr", "Français"
    ARABIC = "ar", "العربية"
    ENGLISH = "en", "English"


class Profile(EncryptedModel):
    """A user's contact details: every value encrypted, e-mail and phone findable by blind index."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    full_name = EncryptedCharField(max_length=150, blank=True, default="")
    email = EncryptedEmailField(
        max_length=254,
        null=True,
        blank=True,
        error_messages={"unique": "This e-mail address is already used by another account."},
    )
    email_index = BlindIndexField(source="email", normaliser=normalise_email, unique=True)
    phone = EncryptedCharField(max_length=20, null=True, blank=True, validators=[validate_phone])
    phone_index = BlindIndexField(source="phone", normaliser=normalise_phone)
    address = EncryptedTextField(max_length=500, blank=True, default="")
    # The language messages to this person are written in (notifications).
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.FRENCH)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id"]

    def __str__(self):
        # Never personal data: this string lands in audit rows and admin breadcrumbs.
        return f"profile of user {self.user_id}"


class PasswordHistory(models.Model):
    """Hashes of a user's recent passwords, so none of the last few is reused."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "password history"

    def __str__(self):
        return f"password of user {self.user_id} set {self.created_at:%Y-%m-%d}"


class RotatedRefreshToken(models.Model):
    """A refresh token blacklisted because it was exchanged: seeing it again means it was copied."""

    token = models.OneToOneField(
        "token_blacklist.OutstandingToken", on_delete=models.CASCADE, related_name="rotation"
    )
    rotated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"rotated refresh token {self.token_id}"


class AuthEvent(models.Model):
    """One authentication event: who (if known), what, when, from where."""

    class Kind(models.TextChoices):
        LOGIN_SUCCEEDED = "login_succeeded", "Login succeeded"
        LOGIN_FAILED = "login_failed", "Login failed"
        LOGIN_THROTTLED = "login_throttled", "Login throttled"
        TOKEN_REFRESHED = "token_refreshed", "Token refreshed"
        REFRESH_REUSED = "refresh_reused", "Refresh token reused"
        LOGGED_OUT = "logged_out", "Logged out"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        TOKENS_REVOKED = "tokens_revoked", "Tokens revoked"
        MFA_CHALLENGED = "mfa_challenged", "Second factor requested"
        MFA_FAILED = "mfa_failed", "Second factor failed"
        MFA_THROTTLED = "mfa_throttled", "Second factor throttled"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        MFA_ENROLLED = "mfa_enrolled", "Second factor enrolled"
        MFA_RESET = "mfa_reset", "Second factor reset"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="auth_events"
    )
    # A keyed hash of the attempted username (never the plaintext): correlates failures.
    username_digest = models.CharField(max_length=64, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self):
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M:%S}"


# --- Second factor ----------------------------------------------------------------------------
# Own device models on django-otp's abstract Device: its TOTPDevice and StaticToken keep the TOTP
# key and the recovery codes in plain text, so anyone reading the database could mint codes.


def totp_default_key() -> str:
    return secrets.token_hex(20)


class TOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app (RFC 6238, SHA-1, 6 digits, 30 s); the secret key encrypted at rest."""

    key = EncryptedCharField(max_length=80, default=totp_default_key)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    # The time step of the last accepted code: only later steps verify (no replay).
    last_t = models.BigIntegerField(default=-1)

    objects = DeviceManager.from_queryset(EncryptedQuerySet)()

    class Meta:
        verbose_name = "TOTP device"

    def __str__(self):
        # Never the username (django-otp's default): this string lands in audit rows.
        return f"{self.name} of user {self.user_id}"

    @property
    def bin_key(self) -> bytes:
        return bytes.fromhex(self.key)

    def get_throttle_factor(self):
        return settings.OTP_TOTP_THROTTLE_FACTOR

    def verify_token(self, token) -> bool:
        """Accept a code of the current step (± tolerance) once; throttle failures."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        token = str(token or "").strip()
        verified = False
        if token.isdigit() and len(token) == self.digits:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = totp.verify(int(token), self.tolerance, self.last_t + 1)
        if verified:
            self.last_t = totp.t()
            self.drift = totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
        else:
            self.throttle_increment(commit=True)
        return verified

    @property
    def config_url(self) -> str:
        """The otpauth:// URI for an authenticator app, with the issuer and the account label."""
        issuer = settings.OTP_TOTP_ISSUER.replace(":", "")
        label = quote(f"{issuer}:{self.user.get_username()}", safe=":@")
        params = urlencode(
            {
                "secret": base64.b32encode(self.bin_key).decode().rstrip("="),
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
                "issuer": issuer,
            },
            quote_via=quote,
        )
        return f"otpauth://totp/{label}?{params}"


def recovery_code_digest(code: str) -> str:
    """SHA-256 of a normalised recovery code (80 random bits each: a plain hash is enough)."""
    normalised = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(normalised.encode()).hexdigest()


class RecoveryCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """One-time recovery codes for a lost authenticator, stored only as hashes."""

    class Meta:
        verbose_name = "recovery code set"

    def __str__(self):
        return f"{self.name} of user {self.user_id}"

    def get_throttle_factor(self):
        return settings.OTP_STATIC_THROTTLE_FACTOR

    def verify_token(self, token) -> bool:
        """Accept an unused code once (it is deleted); throttle failures."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        match = self.codes.filter(digest=recovery_code_digest(str(token or ""))).first()
        if match is None:
            self.throttle_increment(commit=True)
            return False
        match.delete()
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True


class RecoveryCode(models.Model):
    """The hash of one unused recovery code."""

    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, db_index=True)

    def __str__(self):
        return f"recovery code {self.pk} of device {self.device_id}"


class MFAChallenge(models.Model):
    """A password-verified login waiting for its second factor: single-use, short-lived."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mfa_challenges")
    # SHA-256 of the opaque challenge handed to the client; the challenge itself is not stored.
    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"MFA challenge {self.pk} of user {self.user_id}"
