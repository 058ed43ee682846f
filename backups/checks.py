"""Deploy checks: a production server names its backup recipients and its off-site copy."""

import os

from django.conf import settings
from django.core import checks

_REQUIRED = (
    "BACKUP_GPG_RECIPIENT",
    "BACKUP_SFTP_HOST",
    "BACKUP_SFTP_USER",
    "BACKUP_SFTP_KEY_FILE",
    "BACKUP_SFTP_KNOWN_HOSTS",
)


@checks.register(checks.Tags.security, deploy=True)
def check_backup_settings(app_configs, **kwargs):
    if settings.ENVIRONMENT != "production":
        return []
    errors = [
        checks.Error(
            f"{name} is not set: daily backups cannot be encrypted or copied off-site.",
            id="backups.E001",
            hint="See deploy/README.md, section Backups.",
        )
        for name in _REQUIRED
        if not getattr(settings, name)
    ]
    if os.environ.get("BACKUP_ENCRYPTION_KEY"):
        errors.append(
            checks.Warning(
                "BACKUP_ENCRYPTION_KEY is set but unused: backups are encrypted to the GnuPG "
                "public keys of BACKUP_GPG_RECIPIENT.",
                id="backups.W001",
                hint="Remove it from the environment file.",
            )
        )
    if settings.BACKUP_FILE_MODE & 0o007:
        errors.append(
            checks.Error(
                f"BACKUP_FILE_MODE {settings.BACKUP_FILE_MODE:04o} lets others read backups.",
                id="backups.E002",
                hint="Use 0600 (the default), or 0640 for a backup group.",
            )
        )
    return errors
