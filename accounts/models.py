"""Identity: the user (login identifier and role only), password history and auth events."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

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
