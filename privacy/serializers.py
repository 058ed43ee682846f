"""Shapes of the data-subject rights API."""

from rest_framework import serializers

from config.serializers import RejectUnknownFieldsMixin
from privacy.models import Consent, PrivacyNotice
from privacy.personal_data import reader_name


class PrivacyNoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PrivacyNotice
        fields = ["version", "text", "published_at"]


class ConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Consent
        fields = ["purpose", "granted", "notice_version", "created_at"]


class ConsentInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    purpose = serializers.ChoiceField(choices=Consent.Purpose.choices)
    granted = serializers.BooleanField()


class ConsentStateSerializer(serializers.Serializer):
    current = serializers.DictField(
        child=ConsentSerializer(allow_null=True), help_text="The decision in force per purpose."
    )
    history = ConsentSerializer(many=True)


class AccessRecordSerializer(serializers.Serializer):
    when = serializers.DateTimeField(source="created_at")
    action = serializers.CharField()
    by = serializers.SerializerMethodField(help_text="The reader's name (no other detail).")
    role = serializers.CharField(source="actor_role")

    def get_by(self, record) -> str:
        return reader_name(record.actor)


class EraseInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    password = serializers.CharField(
        required=False,
        trim_whitespace=False,
        max_length=4096,
        help_text="Needed unless the access token was issued in the last 5 minutes.",
    )


class ErasureResultSerializer(serializers.Serializer):
    already_erased = serializers.BooleanField()
    erased = serializers.DictField(child=serializers.IntegerField())
    retained = serializers.DictField(
        child=serializers.DictField(), help_text="Per source: count and the legal reason."
    )


class ExportDocumentSerializer(serializers.Serializer):
    """The export format (ecar-personal-data/1); `?format=zip` wraps it as data.json."""

    format = serializers.CharField()
    generated_at = serializers.DateTimeField()
    user_id = serializers.IntegerField()
    sections = serializers.DictField(
        child=serializers.ListField(child=serializers.DictField()),
        help_text="One list of records per category of personal data (account, "
        "contact_details, auth_events, consents, access_log, customer, vehicles, …).",
    )
