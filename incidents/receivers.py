"""Re-seal security records that other apps rewrite or delete on purpose."""

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from accounts.models import AuthEvent
from incidents.models import SealEvent
from incidents.sealing import seal_refresh, stream_of
from privacy.models import AccessRecord
from privacy.signals import security_records_changed

_KINDS = {"erasure": SealEvent.Kind.ERASURE, "retention": SealEvent.Kind.RETENTION}


@receiver(security_records_changed, dispatch_uid="incidents.reseal_changed_records")
def reseal_changed_records(sender, pks, reason, **kwargs):
    if stream_of(sender) is not None:
        seal_refresh(model=sender, pks=pks, kind=_KINDS.get(reason, SealEvent.Kind.ERASURE))


# Deleting a user sets the user columns of their records to NULL (SET_NULL, no signals for the
# rows): remember which rows before, re-seal them after.
_LINKED = (
    (AuthEvent, lambda user: Q(user=user)),
    (AccessRecord, lambda user: Q(actor=user) | Q(subject_user=user)),
    (LogEntry, lambda user: Q(actor=user)),
)


@receiver(pre_delete, sender=get_user_model(), dispatch_uid="incidents.user_records_before")
def remember_user_records(sender, instance, **kwargs):
    instance._sealed_records = [
        (model, list(model._base_manager.filter(query(instance)).values_list("pk", flat=True)))
        for model, query in _LINKED
    ]


@receiver(post_delete, sender=get_user_model(), dispatch_uid="incidents.user_records_after")
def reseal_user_records(sender, instance, **kwargs):
    for model, pks in getattr(instance, "_sealed_records", ()):
        seal_refresh(model=model, pks=pks, kind=SealEvent.Kind.USER_DELETED)
