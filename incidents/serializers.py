"""Input and output shapes of the alerts and incidents API."""

from rest_framework import serializers

from config.serializers import RejectUnknownFieldsMixin
from incidents.models import Incident, SecurityAlert, Severity


class AlertSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True, allow_null=True)

    class Meta:
        model = SecurityAlert
        fields = [
            "id",
            "detector",
            "severity",
            "status",
            "evidence",
            "occurrences",
            "first_seen",
            "last_seen",
            "created_at",
            "notified_at",
            "acknowledged_by",
            "acknowledged_at",
            "closed_by",
            "closed_at",
            "incident",
        ]
        read_only_fields = fields


class AlertFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SecurityAlert.Status.choices, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    detector = serializers.ChoiceField(choices=SecurityAlert.Detector.choices, required=False)


class IncidentSerializer(serializers.ModelSerializer):
    alerts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "reference",
            "title",
            "description",
            "severity",
            "status",
            "occurred_from",
            "occurred_to",
            "scope_user_ids",
            "scope_networks",
            "scope_everyone",
            "opened_by",
            "created_at",
            "contained_at",
            "closed_at",
            "alerts",
        ]
        read_only_fields = fields


class IncidentFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Incident.Status.choices, required=False)


class IncidentCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.HIGH)
    occurred_from = serializers.DateTimeField()
    occurred_to = serializers.DateTimeField(required=False, allow_null=True)
    scope_user_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**53),
        required=False,
        max_length=1000,
    )
    scope_networks = serializers.ListField(
        child=serializers.CharField(max_length=43), required=False, max_length=100
    )
    scope_everyone = serializers.BooleanField(default=False)
    alert_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**53), required=False, max_length=100
    )


class UsersInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    user_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**53),
        required=False,
        max_length=10000,
    )
    everyone = serializers.BooleanField(default=False)


class DisableInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    user_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**53), max_length=10000
    )


class BlockInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    network = serializers.CharField(max_length=43, help_text="CIDR, e.g. 203.0.113.0/24")
    hours = serializers.IntegerField(min_value=1, max_value=24 * 90, default=24)


class NotifyInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    measures = serializers.ListField(
        child=serializers.CharField(max_length=300),
        min_length=1,
        max_length=20,
        help_text="What the garage did (shown to each person).",
    )
    recommended_actions = serializers.ListField(
        child=serializers.CharField(max_length=300),
        min_length=1,
        max_length=20,
        help_text="What the person should do.",
    )
    contact = serializers.CharField(
        max_length=300, required=False, help_text="Defaults to INCIDENT_CONTACT."
    )
    channel = serializers.ChoiceField(
        choices=["auto", "email", "sms"],
        default="auto",
        help_text="auto: e-mail when the person has an address, else SMS.",
    )


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class RotationSerializer(serializers.Serializer):
    active_key = serializers.CharField()
    values_rewritten = serializers.IntegerField()
    files_rewritten = serializers.IntegerField()
    failures = serializers.IntegerField()


class BlockSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    network = serializers.CharField()
    expires_at = serializers.DateTimeField()


class AffectedPersonSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(allow_null=True)
    customer_id = serializers.IntegerField(allow_null=True)
    categories = serializers.SerializerMethodField()
    reads = serializers.IntegerField()

    def get_categories(self, person) -> list[str]:
        return sorted(person.categories)


class AffectedSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    people = AffectedPersonSerializer(many=True)


class TimelineItemSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    details = serializers.JSONField()
    actor_id = serializers.IntegerField(allow_null=True)


class NotifyResultSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    unreachable = serializers.IntegerField()
