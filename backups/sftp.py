"""The off-site copy over SFTP: pinned host key, key login, upload under a temporary name."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
from django.conf import settings

from backups.errors import BackupError
from backups.sets import MANIFEST_FILE, read_manifest, retained, set_names

logger = logging.getLogger("ecar.backups")

# Failures worth another attempt; a host key or login refusal is not one of them.
NETWORK_ERRORS = (OSError, EOFError, socket.timeout, paramiko.SSHException)


class HostKeyError(BackupError):
    """The SFTP host key is not pinned, or differs from the pin: never connect."""


class LoginError(BackupError):
    """The SFTP site refused the key."""


def _pin_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


@contextlib.contextmanager
def sftp_session() -> Iterator[paramiko.SFTPClient]:
    """An SFTP session to BACKUP_SFTP_HOST, refused unless its host key is the pinned one."""
    host, port = settings.BACKUP_SFTP_HOST, settings.BACKUP_SFTP_PORT
    known_hosts = settings.BACKUP_SFTP_KNOWN_HOSTS
    if not host or not settings.BACKUP_SFTP_USER or not settings.BACKUP_SFTP_KEY_FILE:
        raise BackupError(
            "The off-site copy is not configured: BACKUP_SFTP_HOST, BACKUP_SFTP_USER and "
            "BACKUP_SFTP_KEY_FILE are required."
        )
    if not known_hosts or not Path(known_hosts).is_file():
        raise HostKeyError(
            f"No pinned host key: BACKUP_SFTP_KNOWN_HOSTS ({known_hosts or 'unset'}) is not a file."
        )
    # Checked before connecting: paramiko would otherwise report an unknown host only through
    # the missing-key policy, and a stock client would accept it (trust on first use).
    if paramiko.HostKeys(known_hosts).lookup(_pin_name(host, port)) is None:
        raise HostKeyError(f"No pinned host key for {_pin_name(host, port)} in {known_hosts}.")
    client = paramiko.SSHClient()
    client.load_host_keys(known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            host,
            port=port,
            username=settings.BACKUP_SFTP_USER,
            key_filename=settings.BACKUP_SFTP_KEY_FILE,
            look_for_keys=False,
            allow_agent=False,
            timeout=30,
            banner_timeout=30,
            auth_timeout=30,
        )
    except paramiko.BadHostKeyException:
        client.close()
        raise HostKeyError(
            f"The host key of {_pin_name(host, port)} differs from the one pinned in "
            f"{known_hosts}: refusing to connect."
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        raise LoginError(f"{_pin_name(host, port)} refused the key login.") from None
    except BaseException:
        client.close()
        raise
    try:
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(120)
        yield sftp
    finally:
        client.close()


def with_retries(action: Callable[[paramiko.SFTPClient], object], *, what: str):
    """Run `action` in an SFTP session, in a new session after a network error."""
    attempts = settings.BACKUP_SFTP_RETRIES + 1
    for attempt in range(1, attempts + 1):
        try:
            with sftp_session() as sftp:
                return action(sftp)
        except (HostKeyError, LoginError):
            raise
        except NETWORK_ERRORS as exc:
            if attempt == attempts:
                raise BackupError(
                    f"{what} failed after {attempts} attempts: {type(exc).__name__}: {exc}"
                ) from exc
            logger.warning("%s: attempt %d failed (%s), retrying", what, attempt, exc)
            time.sleep(settings.BACKUP_SFTP_RETRY_SECONDS * attempt)
    raise AssertionError("unreachable")


# --- Remote file system helpers ----------------------------------------------------------------


def _exists(sftp, path: str) -> bool:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        return False
    return True


def ensure_dir(sftp, path: str) -> None:
    """Create `path` and its parents (mode 0700) when missing."""
    current = ""
    for part in path.strip("/").split("/"):
        current = f"{current}/{part}" if current or path.startswith("/") else part
        if not _exists(sftp, current):
            sftp.mkdir(current, mode=0o700)


def remove_tree(sftp, path: str) -> None:
    for entry in sftp.listdir_attr(path):
        child = f"{path}/{entry.filename}"
        if stat.S_ISDIR(entry.st_mode):
            remove_tree(sftp, child)
        else:
            sftp.remove(child)
    sftp.rmdir(path)


def remote_sha256(sftp, path: str) -> str:
    digest = hashlib.sha256()
    with sftp.open(path, "rb") as handle:
        handle.prefetch()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def put_verified(sftp, local: Path, remote: str, *, sha256: str) -> None:
    """Upload one file and read it back: same size, same SHA-256, mode 0600."""
    sftp.put(str(local), remote, confirm=True)
    sftp.chmod(remote, 0o600)
    if remote_sha256(sftp, remote) != sha256:
        raise BackupError(f"The uploaded {remote} does not match its SHA-256.")


def replace_file(sftp, local: Path, remote: str, *, sha256: str) -> None:
    """Upload to a temporary name beside `remote`, verify, then rename over it atomically."""
    temporary = f"{remote}.partial"
    put_verified(sftp, local, temporary, sha256=sha256)
    sftp.posix_rename(temporary, remote)


# --- Backup sets --------------------------------------------------------------------------------


def _remote_set_complete(sftp, remote: str, manifest: dict, manifest_bytes: bytes) -> bool:
    """The remote set has this manifest and each file at its size (hashes checked on upload)."""
    try:
        with sftp.open(f"{remote}/{MANIFEST_FILE}", "rb") as handle:
            if handle.read() != manifest_bytes:
                return False
        for name, expected in manifest["files"].items():
            if sftp.stat(f"{remote}/{name}").st_size != expected["size"]:
                return False
    except FileNotFoundError:
        return False
    return True


def upload_set(sftp, set_dir: Path, root: str) -> bool:
    """Copy one set unless it is already there complete; True when it was uploaded now."""
    manifest = read_manifest(set_dir)
    manifest_bytes = (set_dir / MANIFEST_FILE).read_bytes()
    final = f"{root}/{set_dir.name}"
    if _remote_set_complete(sftp, final, manifest, manifest_bytes):
        return False
    # A crash or network error mid-copy leaves only this temporary directory: it is started
    # again from scratch, and the set appears under its real name once complete and verified.
    partial = f"{root}/.{set_dir.name}.partial"
    if _exists(sftp, partial):
        remove_tree(sftp, partial)
    sftp.mkdir(partial, mode=0o700)
    for name, expected in manifest["files"].items():
        put_verified(sftp, set_dir / name, f"{partial}/{name}", sha256=expected["sha256"])
    put_verified(
        sftp,
        set_dir / MANIFEST_FILE,
        f"{partial}/{MANIFEST_FILE}",
        sha256=hashlib.sha256(manifest_bytes).hexdigest(),
    )
    if _exists(sftp, final):
        remove_tree(sftp, final)
    sftp.posix_rename(partial, final)
    return True


def sync_sets(sftp, backup_dir: Path, *, keep: dict) -> dict:
    """Upload every local set missing off-site, then apply the retention to the remote sets."""
    root = settings.BACKUP_SFTP_DIR.rstrip("/") or "."
    ensure_dir(sftp, root)
    local = set_names(p.name for p in backup_dir.iterdir() if p.is_dir())
    uploaded = [name for name in local if upload_set(sftp, backup_dir / name, root)]
    entries = sftp.listdir(root)
    remote = set_names(entries)
    kept = retained(remote, **keep)
    removed = [name for name in remote if name not in kept]
    for name in removed:
        remove_tree(sftp, f"{root}/{name}")
    for entry in entries:
        if entry.startswith(".ecar-") and entry.endswith(".partial"):
            remove_tree(sftp, f"{root}/{entry}")
    return {"uploaded": uploaded, "removed": removed}


def fetch_drill_reports(sftp, *, newer_than: str) -> list[dict]:
    """The restore drill reports the recovery host left in `drills/`, newer than a file name."""
    folder = f"{settings.BACKUP_SFTP_DIR.rstrip('/') or '.'}/drills"
    if not _exists(sftp, folder):
        return []
    reports = []
    for name in sorted(sftp.listdir(folder)):
        if not (name.startswith("drill-") and name.endswith(".json")) or name <= newer_than:
            continue
        with sftp.open(f"{folder}/{name}", "rb") as handle:
            try:
                report = json.loads(handle.read(64 * 1024))
            except ValueError:
                logger.error("Restore drill report %s is not valid JSON", name)
                continue
        reports.append({**report, "file": name})
    return reports
