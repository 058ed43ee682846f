"""Backup status for admins and alerts, the erasure ledger copy, retention rules, residency."""

import json
import logging
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.mfa_helpers import enrol_totp, totp_code
from backups import gpg
from backups.models import BackupRun
from backups.services import LEDGER_REMOTE
from backups.sets import retained
from backups.tests.helpers import run
from privacy.checks import check_data_residency
from privacy.erasure import ledger_append


def test_retention_keeps_the_newest_of_each_day_week_and_month():
    names = [
        "ecar-20261203T013000Z",
        "ecar-20261203T120000Z",
        "ecar-20261202T013000Z",
        "ecar-20261201T013000Z",
        "ecar-20261124T013000Z",
        "ecar-20261116T013000Z",
        "ecar-20261031T013000Z",
        "ecar-20261001T013000Z",
        "ecar-20260915T013000Z",
        ".ecar-20261204T013000Z.partial",
        "notes.txt",
    ]

    kept = retained(names, daily=2, weekly=3, monthly=3)

    assert kept == {
        "ecar-20261203T120000Z",  # daily, weekly (week 49), monthly (December)
        "ecar-20261202T013000Z",  # daily
        "ecar-20261124T013000Z",  # weekly (week 48), monthly (November)
        "ecar-20261116T013000Z",  # weekly (week 47)
        "ecar-20261031T013000Z",  # monthly (October)
    }


def run_status():
    call_command("backup_status", stdout=StringIO())


def test_no_backup_is_reported_loudly(db, caplog):
    with caplog.at_level(logging.ERROR, logger="ecar.backups"), pytest.raises(CommandError):
        run_status()

    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "Backups: no successful backup in the last 26 hours" in messages
    assert "Backups: no successful restore drill in the last 8 days" in messages


def test_a_recent_backup_and_drill_are_fine_until_one_fails(db, caplog):
    now = timezone.now()
    for kind in ("backup", "drill"):
        BackupRun.objects.create(
            kind=kind, status="ok", started_at=now, finished_at=now, offsite="ok"
        )
    run_status()
    BackupRun.objects.create(
        kind="backup", status="failed", started_at=now, finished_at=now + timedelta(seconds=1)
    )

    with caplog.at_level(logging.ERROR, logger="ecar.backups"), pytest.raises(CommandError):
        run_status()

    assert [r.getMessage() for r in caplog.records] == ["Backups: the last backup failed"]


def test_a_failed_backup_is_recorded_and_exits_1(backup_settings, settings, caplog):
    settings.BACKUP_GPG_RECIPIENT = ["nobody@nowhere.example.tn"]

    with caplog.at_level(logging.ERROR, logger="ecar.backups"), pytest.raises(CommandError) as exc:
        run("backup")

    assert exc.value.returncode == 1
    assert "No usable encryption key for recipient nobody@nowhere.example.tn" in str(exc.value)
    run_ = BackupRun.objects.get()
    assert run_.status == "failed" and "No usable encryption key" in run_.detail
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert [p.name for p in backup_settings.backup_dir.iterdir() if p.name != ".lock"] == []


def test_the_erasure_ledger_copy_is_replaced_when_it_grows(backup_settings, keyrings, settings):
    ledger_append({"user_id": 7, "joined": "2026-01-02T03:04:05+00:00", "erased_at": "x"})
    assert run("ship_erasure_ledger") == "erasure ledger copied off-site (1 entries)\n"
    ledger_append({"user_id": 8, "joined": "2026-01-02T03:04:06+00:00", "erased_at": "y"})
    assert run("ship_erasure_ledger") == "erasure ledger copied off-site (2 entries)\n"
    assert run("ship_erasure_ledger").startswith("erasure ledger unchanged (2 entries)")

    settings.GNUPGHOME = keyrings.recovery
    remote = backup_settings.remote / LEDGER_REMOTE
    gpg.decrypt(remote, backup_settings.remote / "ledger.jsonl")
    lines = (backup_settings.remote / "ledger.jsonl").read_text().splitlines()
    assert [json.loads(line)["user_id"] for line in lines] == [7, 8]
    assert list(remote.parent.iterdir()) == [remote]  # no temporary file left
    assert BackupRun.objects.filter(kind="ledger", status="ok").count() == 2


@pytest.fixture
def production(settings):
    settings.ENVIRONMENT = "production"
    settings.SENTRY_DSN = "https://key@sentry.io/1"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "smtp.garage.example.tn"
    settings.BACKUP_SFTP_HOST = "backup.garage.example.tn"
    settings.DATA_RESIDENCY_ALLOWED_HOSTS = []
    return settings


def test_no_destination_is_allowed_by_default(production):
    errors = check_data_residency(None)

    assert {e.id for e in errors} == {"privacy.E004"}
    assert sorted(e.msg.split(" sends")[0] for e in errors) == [
        "BACKUP_SFTP_HOST",
        "EMAIL_HOST",
        "SENTRY_DSN",
    ]
    assert "sentry.io, which is not in DATA_RESIDENCY_ALLOWED_HOSTS" in str(errors)


def test_declared_destinations_in_tunisia_pass(production):
    production.SENTRY_DSN = "https://key@sentry.garage.example.tn/1"
    production.DATA_RESIDENCY_ALLOWED_HOSTS = [
        "sentry.garage.example.tn",
        "SMTP.garage.example.tn",
        "backup.garage.example.tn",
    ]

    assert check_data_residency(None) == []


def test_loopback_and_dev_need_no_declaration(production):
    production.SENTRY_DSN = ""
    production.EMAIL_HOST = "localhost"
    production.BACKUP_SFTP_HOST = "127.0.0.1"
    assert check_data_residency(None) == []
    production.BACKUP_SFTP_HOST = "backup.abroad.example.com"
    production.ENVIRONMENT = "dev"
    assert check_data_residency(None) == []


@pytest.fixture
def admin_site_client(client, super_admin, password):
    """A browser session on the admin site, signed in with password and TOTP."""
    super_admin.is_staff = True
    super_admin.save(update_fields=["is_staff"])
    device = enrol_totp(super_admin)
    token = totp_code(device)
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": super_admin.username,
            "password": password,
            "otp_token": token,
        },
    )
    assert response.status_code == 302
    return client


def test_the_admin_lists_backup_runs_read_only_with_problems_on_top(admin_site_client):
    now = timezone.now()
    run_ = BackupRun.objects.create(
        kind="drill",
        status="ok",
        name="ecar-20261203T013000Z",
        started_at=now,
        finished_at=now,
        size_bytes=5 * 2**20,
        rpo_seconds=7200,
        rto_seconds=41.5,
    )

    page = admin_site_client.get("/admin/backups/backuprun/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "ecar-20261203T013000Z" in text and "41.5" in text and "2.0" in text
    assert "Backups: no successful backup in the last 26 hours." in text
    assert admin_site_client.get("/admin/backups/backuprun/add/").status_code == 403
    change = admin_site_client.post(
        f"/admin/backups/backuprun/{run_.pk}/change/", {"status": "failed"}
    )
    assert change.status_code == 403
    assert BackupRun.objects.get().status == "ok"
