"""GnuPG: encrypt to the recipients' public keys (AES256), decrypt with a private key elsewhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

import gnupg
from django.conf import settings

from backups.errors import BackupError

CIPHER = "AES256"
_AES256_ID = "9"  # OpenPGP symmetric algorithm number (RFC 4880, 9.2)
# The payloads are already compressed (pg_dump -Fc) or encrypted (documents): no compression.
_ENCRYPT_ARGS = ["--cipher-algo", CIPHER, "--compress-algo", "none"]
_DECRYPTION_INFO = re.compile(r"^\[GNUPG:\] DECRYPTION_INFO \d+ (\d+)", re.MULTILINE)


def _gpg() -> gnupg.GPG:
    return gnupg.GPG(gnupghome=settings.GNUPGHOME or None)


def _normalise(recipient: str) -> str:
    return recipient.replace(" ", "").upper()


def recipient_fingerprints(recipients: list[str] | None = None) -> list[str]:
    """Fingerprints of the BACKUP_GPG_RECIPIENT keys, refused when one is missing or unusable."""
    recipients = settings.BACKUP_GPG_RECIPIENT if recipients is None else recipients
    if not recipients:
        raise BackupError("BACKUP_GPG_RECIPIENT is empty: name the public key(s) to encrypt to.")
    keys = _gpg().list_keys()
    found = []
    for recipient in recipients:
        wanted = _normalise(recipient)
        matches = [
            key
            for key in keys
            if key["fingerprint"] == wanted
            or any(f"<{recipient.lower()}>" in uid.lower() for uid in key["uids"])
        ]
        usable = [key for key in matches if "E" in key["cap"] and key["trust"] not in ("r", "e")]
        if not usable:
            raise BackupError(
                f"No usable encryption key for recipient {recipient} in the keyring "
                f"{settings.GNUPGHOME or '~/.gnupg'} (missing, expired or revoked)."
            )
        found.extend(key["fingerprint"] for key in usable)
    return sorted(set(found))


def encrypt(source: BinaryIO, destination: Path, *, fingerprints: list[str]) -> None:
    """Encrypt a stream into `destination` for every fingerprint (binary OpenPGP, AES256)."""
    # The keys are named by the fingerprints the operator configured: no web of trust to consult.
    result = _gpg().encrypt_file(
        source,
        recipients=fingerprints,
        output=str(destination),
        armor=False,
        always_trust=True,
        extra_args=_ENCRYPT_ARGS,
    )
    if not result.ok:
        raise BackupError(f"GnuPG could not encrypt {destination.name}: {result.status}.")


def decrypt(source: Path, destination: Path) -> None:
    """Decrypt `source` with a private key of the keyring; refuse anything but AES256 with MDC."""
    result = _gpg().decrypt_file(str(source), output=str(destination))
    if not result.ok:
        raise BackupError(
            f"GnuPG could not decrypt {source.name}: {result.status or 'no secret key'}."
        )
    algorithms = _DECRYPTION_INFO.findall(result.stderr or "")
    if algorithms != [_AES256_ID]:
        raise BackupError(f"{source.name} is not encrypted with {CIPHER}.")
