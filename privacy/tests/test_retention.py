"""`manage.py enforce_retention [--dry-run]`: what is past its retention goes, the rest stays."""

from datetime import timedelta
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import AuthEvent, User
from accounts.tokens import token_pair
from garage.tests.factories import ServiceFactory
from privacy.models import AccessRecord

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("enforce_retention", *args, stdout=out)
    return out.getvalue()


def ago(days: int):
    return timezone.now() - timedelta(days=days)


def auth_event(user, days_old: int) -> AuthEvent:
    event = AuthEvent.objects.create(kind=AuthEvent.Kind.LOGIN_SUCCEEDED, user=user, ip="10.1.1.1")
    AuthEvent.objects.filter(pk=event.pk).update(created_at=ago(days_old))
    return event


def access_record(actor, subject, days_old: int) -> AccessRecord:
    record = AccessRecord.objects.create(
        actor=actor,
        actor_role=actor.role,
        subject_user=subject,
        subject_type=ContentType.objects.get_for_model(User),
        subject_id=str(subject.pk),
        action="customer.read",
    )
    AccessRecord.objects.filter(pk=record.pk).update(created_at=ago(days_old))
    return record


def audit_entry(days_old: int) -> LogEntry:
    entry = LogEntry.objects.get_for_object(ServiceFactory()).get()
    LogEntry.objects.filter(pk=entry.pk).update(timestamp=ago(days_old))
    return entry


def refresh_token(user, *, expired: bool, blacklisted: bool = False) -> OutstandingToken:
    token_pair(user)
    token = OutstandingToken.objects.filter(user=user).latest("id")
    if expired:
        OutstandingToken.objects.filter(pk=token.pk).update(expires_at=ago(1))
    if blacklisted:
        BlacklistedToken.objects.create(token=token)
    return token


@pytest.fixture
def rows(customer, super_admin):
    """One row of each kind just past the 365-day retention (366 days) and one within (364)."""
    return {
        "auth_events": (auth_event(customer, 366), auth_event(customer, 364)),
        "access_records": (
            access_record(super_admin, customer, 366),
            access_record(super_admin, customer, 364),
        ),
        "audit_log": (audit_entry(366), audit_entry(364)),
        "expired_tokens": (
            refresh_token(customer, expired=True),
            refresh_token(customer, expired=False),
        ),
    }


def exists(row) -> bool:
    return type(row).objects.filter(pk=row.pk).exists()


def counts() -> tuple:
    return (
        AuthEvent.objects.count(),
        AccessRecord.objects.count(),
        LogEntry.objects.count(),
        OutstandingToken.objects.count(),
    )


def test_dry_run_counts_what_would_go_and_deletes_nothing(rows):
    before = counts()

    output = run("--dry-run")

    for name in rows:
        assert f"{name}: would remove 1" in output.splitlines()
    assert counts() == before
    assert all(exists(row) for pair in rows.values() for row in pair)


def test_rows_older_than_365_days_go_and_rows_of_364_days_stay(rows):
    output = run()

    for name, (old, recent) in rows.items():
        assert f"{name}: removed 1" in output.splitlines(), name
        assert not exists(old), name
        assert exists(recent), name


def test_a_second_run_finds_nothing_more(rows):
    run()

    output = run()

    for name in rows:
        assert f"{name}: removed 0" in output.splitlines()


def test_expired_refresh_tokens_go_blacklisted_or_not_and_live_ones_stay(customer):
    expired = refresh_token(customer, expired=True)
    expired_blacklisted = refresh_token(customer, expired=True, blacklisted=True)
    live = refresh_token(customer, expired=False)
    live_blacklisted = refresh_token(customer, expired=False, blacklisted=True)

    run()

    assert not exists(expired) and not exists(expired_blacklisted)
    assert exists(live) and exists(live_blacklisted)
    # The blacklist of a live token stays: a reused refresh token must still be recognised.
    assert BlacklistedToken.objects.filter(token=live_blacklisted).exists()
    assert BlacklistedToken.objects.count() == 1


def test_the_dry_run_announces_what_the_run_then_reports_removed(customer):
    refresh_token(customer, expired=True)
    refresh_token(customer, expired=True, blacklisted=True)

    announced = run("--dry-run").splitlines()
    done = run().splitlines()

    assert "expired_tokens: would remove 2" in announced
    assert "expired_tokens: removed 2" in done


def test_a_longer_configured_retention_keeps_older_rows(rows, settings):
    settings.AUTH_EVENT_RETENTION_DAYS = 400
    settings.ACCESS_RECORD_RETENTION_DAYS = 400
    settings.AUDIT_LOG_RETENTION_DAYS = 400

    output = run()

    for name in ("auth_events", "access_records", "audit_log"):
        assert f"{name}: removed 0" in output.splitlines()
        assert all(exists(row) for row in rows[name])


@pytest.mark.parametrize(
    "setting",
    ["AUTH_EVENT_RETENTION_DAYS", "ACCESS_RECORD_RETENTION_DAYS", "AUDIT_LOG_RETENTION_DAYS"],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_retention_below_365_days_is_refused(rows, settings, setting, dry_run):
    setattr(settings, setting, 300)
    before = counts()

    with pytest.raises(CommandError, match=f"{setting} must be at least 365 days"):
        run(*(["--dry-run"] if dry_run else []))

    assert counts() == before


def test_exactly_365_days_is_accepted(rows, settings):
    settings.AUTH_EVENT_RETENTION_DAYS = 365

    assert "auth_events: removed 1" in run().splitlines()
