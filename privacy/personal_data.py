"""The personal data the privacy app itself holds (consents, who read whose data), and retention."""

from auditlog.models import LogEntry
from django.conf import settings

from privacy.models import AccessRecord, Consent, ErasureLedgerEntry
from privacy.registry import (
    ErasureResult,
    PersonalDataSource,
    RetentionRule,
    older_than,
    purge,
    registry,
)
from privacy.selectors import access_record_list
from privacy.signals import records_changed


def _consents_export(user):
    for consent in Consent.objects.filter(user=user).order_by("created_at", "id"):
        yield {
            "purpose": consent.purpose,
            "granted": consent.granted,
            "notice_version": consent.notice_version,
            "created_at": consent.created_at,
            "ip": consent.ip,
        }


def _consents_erase(user) -> ErasureResult:
    deleted, _ = Consent.objects.filter(user=user).delete()
    return ErasureResult(erased=deleted)


def access_log_rows(user):
    """Who read the person's data: the reader's name and role only, what and when."""
    for record in access_record_list(user=user).iterator(chunk_size=500):
        yield {
            "when": record.created_at,
            "action": record.action,
            "by": reader_name(record.actor),
            "role": record.actor_role,
        }


def reader_name(actor) -> str:
    """A staff member as shown to the people whose data they read: full name, else username."""
    if actor is None:
        return "[removed]"
    profile = getattr(actor, "profile", None)
    return (profile.full_name if profile is not None else "") or actor.username


def _access_records_erase(user) -> ErasureResult:
    """Unlink the reads of the person's data; the rows stay (pseudonymous) for accountability."""
    about = list(AccessRecord.objects.filter(subject_user=user).values_list("pk", flat=True))
    updated = AccessRecord.objects.filter(pk__in=about).update(subject_user=None, ip=None)
    # Where a staff member read from.
    by = list(AccessRecord.objects.filter(actor=user).values_list("pk", flat=True))
    AccessRecord.objects.filter(pk__in=by).update(ip=None)
    records_changed(AccessRecord, {*about, *by}, reason="erasure")
    return ErasureResult(erased=updated)


registry.register(
    PersonalDataSource(
        name="consents", models=(Consent,), export=_consents_export, erase=_consents_erase
    )
)
registry.register(
    PersonalDataSource(
        name="access_log",
        models=(AccessRecord,),
        export=access_log_rows,
        erase=_access_records_erase,
        order=900,
    )
)
# The ledger holds ids only (no personal data); it is what makes erasures survive a restore.
registry.register(PersonalDataSource(name="erasure_ledger", models=(ErasureLedgerEntry,)))
registry.register_retention(
    RetentionRule(
        "access_records",
        lambda dry_run: purge(
            AccessRecord.objects.filter(
                created_at__lt=older_than(settings.ACCESS_RECORD_RETENTION_DAYS)
            ),
            dry_run,
        ),
    )
)
registry.register_retention(
    RetentionRule(
        "audit_log",
        lambda dry_run: purge(
            LogEntry.objects.filter(timestamp__lt=older_than(settings.AUDIT_LOG_RETENTION_DAYS)),
            dry_run,
        ),
    )
)
