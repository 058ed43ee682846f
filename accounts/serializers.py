"""Input and output shapes of the authentication API."""

from rest_framework import serializers

from accounts.models import Language, Role, User
from config.serializers import RejectUnknownFieldsMixin


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


class ProtectedOutputSerializer(serializers.Serializer):
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
