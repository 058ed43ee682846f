"""Real GnuPG keyrings and a real OpenSSH sshd on 127.0.0.1 for the backup tests."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from privacy.tests.people import own_ledger

SSHD = "/usr/sbin/sshd"


def require(*tools: str) -> None:
    """Skip without the tools on a developer machine; under CI a missing tool is a failure."""
    missing = [tool for tool in tools if not shutil.which(tool) and not Path(tool).exists()]
    if missing:
        message = f"needs {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def postgresql(transactional_db):
    """pg_dump reads through its own connection: committed rows on PostgreSQL are required."""
    if connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("backup tests need PostgreSQL (DATABASE_URL)")
        pytest.skip("backup tests need PostgreSQL (DATABASE_URL)")
    require("pg_dump", "pg_restore")


# --- GnuPG --------------------------------------------------------------------------------------


@dataclass
class Keyrings:
    server: str  # public keys only, as on the application server
    recovery: str  # the recovery host's private key
    owner_fingerprint: str
    recovery_fingerprint: str


def _gpg(home: str, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["gpg", "--batch", "--homedir", home, *args], input=stdin, capture_output=True, check=True
    ).stdout


def _new_key(home: str, uid: str) -> str:
    _gpg(home, "--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never")
    for line in _gpg(home, "--with-colons", "--list-secret-keys", uid).decode().splitlines():
        if line.startswith("fpr:"):
            return line.split(":")[9]
    raise AssertionError("no fingerprint")


@pytest.fixture(scope="session")
def keyrings():
    """Throwaway keys (ed25519/cv25519: fast): the owner's and the recovery host's."""
    require("gpg")
    homes = [tempfile.mkdtemp(prefix="gpg-") for _ in range(3)]  # short paths: agent sockets
    owner_home, recovery_home, server_home = homes
    owner = _new_key(owner_home, "Owner <owner@garage.example.tn>")
    recovery = _new_key(recovery_home, "Recovery <recovery@garage.example.tn>")
    for home, fpr in ((owner_home, owner), (recovery_home, recovery)):
        _gpg(server_home, "--import", stdin=_gpg(home, "--export", fpr))
    yield Keyrings(server_home, recovery_home, owner, recovery)
    for home in homes:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)


# --- sshd ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen) -> bool:
    for _ in range(100):
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.05)
    return False


@dataclass
class SshServer:
    port: int
    host_key_line: str  # "ssh-ed25519 AAAA..." of the server
    client_key: str
    user: str
    root: Path

    def known_hosts(self, path: Path, key_line: str | None = None, port: int | None = None):
        path.write_text(f"[127.0.0.1]:{port or self.port} {key_line or self.host_key_line}\n")
        return path


@pytest.fixture(scope="session")
def sshd():
    """OpenSSH's sshd on a free loopback port: key logins only, internal SFTP."""
    require(SSHD, "ssh-keygen")
    root = Path(tempfile.mkdtemp(prefix="ecar-sshd-"))
    for name in ("host", "client"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True
        )
    (root / "authorized_keys").write_text((root / "client.pub").read_text())
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    config = root / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nHostKey {root / 'host'}\nPidFile {root / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nUsePAM no\nStrictModes no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
        "Subsystem sftp internal-sftp\n"
    )
    for _ in range(5):
        port = free_port()
        process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config), "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if _wait_for(port, process):
            break
        process.kill()
        process.wait()
    else:
        pytest.fail("sshd did not start")
    key_type, key = (root / "host.pub").read_text().split()[:2]
    remote = root / "remote"
    remote.mkdir()
    yield SshServer(port, f"{key_type} {key}", str(root / "client"), _user(), remote)
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


# --- Settings -----------------------------------------------------------------------------------


@dataclass
class BackupEnv:
    backup_dir: Path
    remote: Path
    known_hosts: Path


@pytest.fixture
def backup_settings(postgresql, settings, tmp_path, keyrings, sshd):
    """BACKUP_* settings of an application server: public keys, the test sshd as SFTP site."""
    remote = sshd.root / tmp_path.name
    remote.mkdir()
    settings.BACKUP_DIR = str(tmp_path / "backups")
    settings.GNUPGHOME = keyrings.server
    settings.BACKUP_GPG_RECIPIENT = [keyrings.owner_fingerprint, keyrings.recovery_fingerprint]
    settings.BACKUP_SFTP_HOST = "127.0.0.1"
    settings.BACKUP_SFTP_PORT = sshd.port
    settings.BACKUP_SFTP_USER = sshd.user
    settings.BACKUP_SFTP_KEY_FILE = sshd.client_key
    settings.BACKUP_SFTP_KNOWN_HOSTS = str(sshd.known_hosts(tmp_path / "known_hosts"))
    settings.BACKUP_SFTP_DIR = str(remote)
    settings.BACKUP_SFTP_RETRIES = 1
    settings.BACKUP_SFTP_RETRY_SECONDS = 0
    own_ledger(settings, tmp_path)
    return BackupEnv(Path(settings.BACKUP_DIR), remote, tmp_path / "known_hosts")


@pytest.fixture
def recovery_host(settings, keyrings, backup_settings):
    """Switch to the recovery host: the SFTP directory is its BACKUP_DIR, its key can decrypt."""

    def switch():
        settings.BACKUP_DIR = str(backup_settings.remote)
        settings.GNUPGHOME = keyrings.recovery

    return switch
