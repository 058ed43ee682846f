"""The environment the production settings need to start, every value strong (for tests)."""

import secrets

from privacy.keys import format_key_entry, generate_key


def production_env() -> dict:
    """Everything the production settings need, all of it strong."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(48)[:64],
        "ALLOWED_HOSTS": "ecar.example.tn",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ecar",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "FIELD_ENCRYPTION_KEYS": format_key_entry("k1", generate_key()),
        "BLIND_INDEX_KEY": generate_key(),
        "BACKUP_GPG_RECIPIENT": "0123456789ABCDEF0123456789ABCDEF01234567",
        "BACKUP_SFTP_HOST": "backup.example.tn",
        "BACKUP_SFTP_USER": "ecar",
        "BACKUP_SFTP_KEY_FILE": "/etc/ecar/sftp_ed25519",
        "BACKUP_SFTP_KNOWN_HOSTS": "/etc/ecar/sftp_known_hosts",
        "DATA_RESIDENCY_ALLOWED_HOSTS": "backup.example.tn",
        "AUDIT_SEAL_KEY": generate_key(),
    }
