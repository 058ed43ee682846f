"""A backup, its off-site copy, and the restore drill on the recovery host, end to end."""

import json
import stat
from pathlib import Path

import pytest
from django.core.management import CommandError

from accounts.models import Role
from backups import database
from backups.models import BackupRun
from backups.sets import DATABASE_FILE, MANIFEST_FILE, PAYLOAD_FILES, set_names, sha256_file
from backups.tests.helpers import notice, run
from privacy.erasure import ledger_read
from privacy.tests.people import logged_in_client, rich_person


@pytest.fixture
def admin(make_user, backup_settings):
    notice()
    return make_user("frontdesk", Role.SUPER_ADMIN)


@pytest.fixture
def alice(admin):
    return rich_person(
        1, "amel", admin=admin, admin_client=logged_in_client(admin), ip="198.51.100.21"
    )


def only_set(directory: Path) -> Path:
    names = set_names(p.name for p in directory.iterdir())
    assert len(names) == 1, names
    return directory / names[0]


def database_exists(name: str) -> bool:
    with database.connect() as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


def test_backup_then_drill_on_the_recovery_host_passes_and_reapplies_a_later_erasure(
    backup_settings, alice, admin, keyrings, recovery_host, settings
):
    # Given: a backup, copied off-site, taken while Alice was a customer.
    summary = run("backup")
    local = only_set(backup_settings.backup_dir)
    assert summary.startswith(f"backup {local.name}: ")
    assert "off-site copy ok (1 uploaded)" in summary
    remote = only_set(backup_settings.remote)
    assert remote.name == local.name
    assert sorted(p.name for p in remote.iterdir()) == sorted([*PAYLOAD_FILES, MANIFEST_FILE])
    for path in [*local.iterdir(), *remote.iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    manifest = json.loads((local / MANIFEST_FILE).read_text())
    assert manifest["database"]["row_counts"]["accounts_user"] == 2
    assert ["backups", "0001_initial"] in manifest["database"]["migrations"]
    assert manifest["app_version"]
    assert manifest["encryption"]["recipients"] == sorted(
        [keyrings.owner_fingerprint, keyrings.recovery_fingerprint]
    )
    assert manifest["media_files"] >= 2  # her two documents, encrypted

    # Alice is erased after the backup; the ledger goes off-site within minutes.
    assert alice.client.generic("POST", "/api/delete_user_data/").status_code == 200
    assert [e["user_id"] for e in ledger_read()] == [alice.user.pk]
    assert run("ship_erasure_ledger") == "erasure ledger copied off-site (1 entries)\n"
    assert run("ship_erasure_ledger").startswith("erasure ledger unchanged")

    # When: the recovery host runs the drill on its copy.
    recovery_host()
    output = run("restore_drill")

    # Then: restored, verified, Alice erased again, the scratch database gone.
    assert output.startswith(f"restore drill ok: {remote.name} restored and verified in ")
    assert "1 erasures re-applied" in output
    (report_file,) = (backup_settings.remote / "drills").iterdir()
    report = json.loads(report_file.read_text())
    assert report["status"] == "ok"
    assert report["files_decrypted"] >= 2 and report["values_decrypted"] > 10
    assert report["rows"] == sum(manifest["database"]["row_counts"].values())
    assert report["rpo_seconds"] >= 0 and report["rto_seconds"] > 0
    assert report["scratch_database"].startswith("ecar_drill_")
    assert not database_exists(report["scratch_database"])

    # The application server picks the drill result up with its next backup.
    settings.BACKUP_DIR = str(backup_settings.backup_dir)
    settings.GNUPGHOME = keyrings.server
    run("backup")
    drill = BackupRun.objects.get(kind=BackupRun.Kind.DRILL)
    assert drill.status == "ok" and drill.name == remote.name
    assert drill.rto_seconds == report["rto_seconds"] and drill.rpo_seconds == report["rpo_seconds"]
    assert BackupRun.objects.filter(kind="backup", status="ok", offsite="ok").count() == 2


def test_a_tampered_backup_fails_the_drill(backup_settings, admin, keyrings, settings):
    run("backup", "--no-offsite")
    set_dir = only_set(backup_settings.backup_dir)
    settings.GNUPGHOME = keyrings.recovery
    dump = set_dir / DATABASE_FILE
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))

    with pytest.raises(CommandError, match="does not match its SHA-256"):
        run("restore_drill")

    # Even with the manifest rewritten to match, GnuPG's integrity check refuses the file.
    manifest = json.loads((set_dir / MANIFEST_FILE).read_text())
    manifest["files"][DATABASE_FILE]["sha256"] = sha256_file(dump)
    (set_dir / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="GnuPG could not decrypt database"):
        run("restore_drill", str(set_dir))
    reports = sorted((backup_settings.backup_dir / "drills").iterdir())
    assert [json.loads(p.read_text())["status"] for p in reports] == ["failed", "failed"]


def test_the_application_server_cannot_read_its_own_backups(backup_settings, admin):
    run("backup", "--no-offsite")

    with pytest.raises(CommandError, match="GnuPG could not decrypt"):
        run("restore_drill", "--no-report")
