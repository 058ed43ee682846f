"""Input and output shapes of the authentication API."""

from rest_framework import serializers

from accounts.models import Language, Role, User
from config.serializers import OutputSerializer, RejectUnknownFieldsMixin


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "role"]
        read_only_fields = fields


class CookieModeSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    cookie = serializers.BooleanField(
        default=False,
        help_text="Web clients: deliver the refresh token only in an HttpOnly cookie.",
    )


class LoginInputSerializer(CookieModeSerializer):
    username = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The second factor in the same call (authenticator or recovery code).",
    )


class RefreshInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    refresh = serializers.CharField(
        required=False,
        max_length=4096,
        help_text="The refresh token; web clients omit it and send the cookie (with X-CSRFToken).",
    )


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(
        allow_null=True, help_text="Null in cookie mode: the token is in the HttpOnly cookie."
    )


class LoginOutputSerializer(TokenPairSerializer):
    user = UserSummarySerializer()
    password_change_required = serializers.BooleanField(
        required=False,
        help_text="Present (true) when every call but POST /api/password/change/ is refused "
        "until the password is changed.",
    )
    csrf_token = serializers.CharField(
        required=False, help_text="Cookie mode only: send it back as X-CSRFToken."
    )
    mfa_enrolment_required = serializers.BooleanField(
        required=False,
        help_text="Staff without an authenticator: these tokens only reach /api/mfa/ (enrol).",
    )


class MFAChallengeOutputSerializer(serializers.Serializer):
    mfa_required = serializers.BooleanField(
        help_text="Always true: send a code to /api/login/mfa/."
    )
    challenge = serializers.CharField(help_text="Opaque, single-use, valid for minutes.")


class MFALoginInputSerializer(CookieModeSerializer):
    challenge = serializers.CharField(max_length=200)
    code = serializers.CharField(
        max_length=64, help_text="6 digits from the authenticator, or a recovery code."
    )


class MFAStatusOutputSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="A confirmed authenticator is enrolled.")
    pending = serializers.BooleanField(help_text="An authenticator waits for its first code.")
    recovery_codes_left = serializers.IntegerField()
    required = serializers.BooleanField(help_text="The policy requires a second factor here.")


class TOTPEnrolmentOutputSerializer(serializers.Serializer):
    otpauth_uri = serializers.CharField(help_text="otpauth://totp/ECAR:<username>?secret=…")
    qr_svg = serializers.CharField(help_text="The same URI as a QR code (SVG markup).")


class TOTPConfirmInputSerializer(CookieModeSerializer):
    code = serializers.CharField(max_length=16, help_text="The first code the app shows.")


class RecoveryCodesOutputSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Shown once: each works one time."
    )


class TOTPConfirmOutputSerializer(TokenPairSerializer, RecoveryCodesOutputSerializer):
    csrf_token = serializers.CharField(
        required=False, help_text="Cookie mode only: send it back as X-CSRFToken."
    )


class ProtectedOutputSerializer(OutputSerializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class PasswordChangeInputSerializer(CookieModeSerializer):
    current_password = serializers.CharField(max_length=4096, trim_whitespace=False)
    new_password = serializers.CharField(max_length=4096, trim_whitespace=False)


class MeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.id")
    username = serializers.CharField(source="user.username")
    role = serializers.CharField(source="user.role")
    full_name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    phone = serializers.CharField(allow_null=True, help_text="E.164, e.g. +21620123456.")
    address = serializers.CharField()
    language = serializers.ChoiceField(choices=Language.choices)


class MeUpdateInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Contact details only: username, role and flags are not writable here."""

    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(
        max_length=254, required=False, allow_blank=True, allow_null=True
    )
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, allow_null=True)
    address = serializers.CharField(max_length=500, required=False, allow_blank=True)
    language = serializers.ChoiceField(
        choices=Language.choices, required=False, help_text="Language of messages to you."
    )
    current_password = serializers.CharField(
        required=False,
        write_only=True,
        trim_whitespace=False,
        max_length=4096,
        help_text="Required to change the e-mail address or the phone number.",
    )
