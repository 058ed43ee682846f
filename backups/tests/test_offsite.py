"""The SFTP copy: pinned host key, retries without loss or duplicates, retention on both sides."""

import logging
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.core.management import CommandError

from backups.models import BackupRun
from backups.sets import set_name, set_names, set_time
from backups.tests.conftest import free_port
from backups.tests.helpers import run


def sets_in(directory) -> list[str]:
    return set_names(p.name for p in directory.iterdir()) if directory.exists() else []


def other_host_key(tmp_path) -> str:
    path = tmp_path / "impostor"
    subprocess.run(  # noqa: S603 - fixed arguments
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],  # noqa: S607
        check=True,
    )
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


def test_a_changed_host_key_refuses_the_copy(backup_settings, sshd, tmp_path, caplog):
    sshd.known_hosts(backup_settings.known_hosts, key_line=other_host_key(tmp_path))

    with caplog.at_level(logging.ERROR, logger="ecar.backups"), pytest.raises(CommandError) as exc:
        run("backup")

    assert exc.value.returncode == 2
    assert "differs from the one pinned" in str(exc.value)
    assert len(sets_in(backup_settings.backup_dir)) == 1  # the local backup is kept
    assert sets_in(backup_settings.remote) == [] and list(backup_settings.remote.iterdir()) == []
    assert BackupRun.objects.get().offsite == "failed"
    assert any("Off-site copy" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("pin", ["missing file", "other host"])
def test_a_missing_pin_refuses_the_copy(backup_settings, sshd, pin):
    if pin == "missing file":
        backup_settings.known_hosts.unlink()
    else:
        sshd.known_hosts(backup_settings.known_hosts, port=sshd.port + 1)

    with pytest.raises(CommandError, match="No pinned host key") as exc:
        run("backup")

    assert exc.value.returncode == 2
    assert list(backup_settings.remote.iterdir()) == []


def test_a_network_failure_is_retried_then_caught_up_without_loss_or_duplicates(
    backup_settings, sshd, settings
):
    # The SFTP site is down (nothing listens on the port; its pin is known).
    closed = free_port()
    backup_settings.known_hosts.write_text(
        f"[127.0.0.1]:{closed} {sshd.host_key_line}\n[127.0.0.1]:{sshd.port} {sshd.host_key_line}\n"
    )
    settings.BACKUP_SFTP_PORT = closed
    with pytest.raises(CommandError, match="failed after 2 attempts") as exc:
        run("backup")
    assert exc.value.returncode == 2
    # That was yesterday's backup; a copy of it interrupted half-way left a temporary directory.
    first = "ecar-20261202T013000Z"
    (backup_settings.backup_dir / sets_in(backup_settings.backup_dir)[0]).rename(
        backup_settings.backup_dir / first
    )
    (backup_settings.remote / f".{first}.partial").mkdir()
    (backup_settings.remote / f".{first}.partial" / "database.psql.bin.gpg").write_bytes(b"half")

    # It is back: the next backup copies both sets, each once, complete.
    settings.BACKUP_SFTP_PORT = sshd.port
    assert "off-site copy ok (2 uploaded)" in run("backup")

    local = sets_in(backup_settings.backup_dir)
    assert len(local) == 2
    assert sorted(p.name for p in backup_settings.remote.iterdir()) == local
    for name in local:
        for path in (backup_settings.backup_dir / name).iterdir():
            assert (backup_settings.remote / name / path.name).read_bytes() == path.read_bytes()


def test_retention_deletes_the_right_sets_locally_and_off_site(backup_settings, settings):
    settings.BACKUP_KEEP_DAILY = settings.BACKUP_KEEP_WEEKLY = settings.BACKUP_KEEP_MONTHLY = 2
    run("backup", "--no-offsite")
    (real,) = sets_in(backup_settings.backup_dir)
    made = set_time(real)
    # Dated from the real set (which becomes yesterday's): yesterday's is the second daily set,
    # the one of 400 days ago the second weekly and monthly one (periods count where sets
    # exist), the one of 800 days ago is in no kept period; off-site, 500 days ago neither.
    yesterday, *local_old = (set_name(made - timedelta(days=d)) for d in (1, 400, 800))
    (backup_settings.backup_dir / real).rename(backup_settings.backup_dir / yesterday)
    for name in local_old:
        shutil.copytree(backup_settings.backup_dir / yesterday, backup_settings.backup_dir / name)
    for name in (set_name(made - timedelta(days=500)), ".ecar-20260101T000000Z.partial"):
        (backup_settings.remote / name).mkdir()

    run("backup")

    (newest,) = set(sets_in(backup_settings.backup_dir)) - {yesterday, *local_old}
    kept = sorted([newest, yesterday, local_old[0]])
    assert sets_in(backup_settings.backup_dir) == kept
    assert sorted(p.name for p in backup_settings.remote.iterdir()) == kept
