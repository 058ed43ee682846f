"""Write use cases of the privacy app."""

from django.contrib.contenttypes.models import ContentType

from accounts.network import client_ip
from privacy.models import AccessRecord


def access_record_create(*, request, subject, action: str, subject_user=None) -> AccessRecord:
    """Record that the requesting user read personal data of `subject` (a model instance).

    Reading one's own data is not an access by someone else and is not recorded.
    """
    actor = request.user if request.user.is_authenticated else None
    if actor is not None and subject_user is not None and actor.pk == subject_user.pk:
        return None
    return AccessRecord.objects.create(
        actor=actor,
        actor_role=getattr(actor, "role", ""),
        subject_user=subject_user,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=str(subject.pk),
        action=action,
        ip=client_ip(request),
    )
