"""Reads of the privacy app, scoped to the person they concern."""

from privacy.models import AccessRecord, Consent, PrivacyNotice


def privacy_notice_current() -> PrivacyNotice | None:
    return PrivacyNotice.objects.order_by("-published_at", "-id").first()


def consent_list(*, user):
    return Consent.objects.filter(user=user).order_by("-created_at", "-id")


def consent_current(*, user) -> dict:
    """The decision in force per purpose (the latest one), or None when never asked."""
    current = {purpose: None for purpose in Consent.Purpose.values}
    for consent in consent_list(user=user):
        if current[consent.purpose] is None:
            current[consent.purpose] = consent
    return current


def access_record_list(*, user):
    """Reads of the person's data by someone else, newest first."""
    return (
        AccessRecord.objects.filter(subject_user=user)
        .exclude(actor=user)
        .select_related("actor__profile")
        .order_by("-created_at", "-id")
    )
