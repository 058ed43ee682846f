"""Production settings refuse to start without good secrets; dev settings keep theirs private.

Each case runs in a fresh interpreter with a clean environment: settings are read at import.
"""

import os
import secrets
import stat
import subprocess
import sys

import pytest

from config.env import BASE_DIR
from privacy.keys import format_key_entry, generate_key

SETUP = "import django; django.setup()"


def run(code_or_args, env: dict, *, manage=False):
    """Run python -c CODE (or manage.py ARGS) with only the given environment variables."""
    args = (
        [sys.executable, "manage.py", *code_or_args]
        if manage
        else [sys.executable, "-c", code_or_args]
    )
    clean_env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        args,
        cwd=BASE_DIR,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def production_env():
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
    }


def without(env: dict, name: str) -> dict:
    return {key: value for key, value in env.items() if key != name}


def assert_refused(result, *mentions):
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    for mention in mentions:
        assert mention in result.stderr, result.stderr


# --- Production ---------------------------------------------------------------------------------


def test_good_production_environment_starts(production_env):
    result = run(
        SETUP + "; from django.conf import settings; print(settings.DEBUG)", production_env
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_good_production_environment_passes_the_deploy_check(production_env):
    result = run(["check", "--deploy", "--fail-level", "WARNING"], production_env, manage=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_missing_secret_key_is_refused(production_env):
    assert_refused(run(SETUP, without(production_env, "SECRET_KEY")), "SECRET_KEY")


@pytest.mark.parametrize(
    "weak",
    ["short", "a" * 64, "django-insecure-" + secrets.token_urlsafe(48)],
    ids=["short", "repetitive", "django-insecure"],
)
def test_weak_secret_key_is_refused(production_env, weak):
    assert_refused(run(SETUP, {**production_env, "SECRET_KEY": weak}), "SECRET_KEY")


def test_missing_allowed_hosts_is_refused(production_env):
    assert_refused(run(SETUP, without(production_env, "ALLOWED_HOSTS")), "ALLOWED_HOSTS")


def test_missing_database_url_is_refused(production_env):
    assert_refused(run(SETUP, without(production_env, "DATABASE_URL")), "DATABASE_URL")


def test_sqlite_database_is_refused(production_env):
    result = run(SETUP, {**production_env, "DATABASE_URL": "sqlite:////tmp/ecar.sqlite3"})

    assert_refused(result, "PostgreSQL")


def test_missing_redis_url_is_refused(production_env):
    assert_refused(run(SETUP, without(production_env, "REDIS_URL")), "REDIS_URL")


@pytest.mark.parametrize("name", ["FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"])
def test_missing_encryption_key_is_refused(production_env, name):
    assert_refused(run(SETUP, without(production_env, name)), name)


def test_reused_encryption_key_is_refused(production_env):
    key = generate_key()
    env = {**production_env, "FIELD_ENCRYPTION_KEYS": f"k1:{key}", "BLIND_INDEX_KEY": key}

    assert_refused(run(SETUP, env), "Encryption keys")


def test_production_security_switches(production_env):
    code = SETUP + (
        "; from django.conf import settings as s"
        "; print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.REFRESH_COOKIE_SECURE, s.SECURE_HSTS_SECONDS >= 31536000,"
        " s.CACHES['default']['BACKEND'], s.DATABASES['default']['ENGINE'])"
    )

    result = run(code, production_env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "True",
        "True",
        "django_redis.cache.RedisCache",
        "django.db.backends.postgresql",
    ]


# --- Development --------------------------------------------------------------------------------


def dev_env(secrets_dir) -> dict:
    return {"DJANGO_SETTINGS_MODULE": "config.settings.dev", "ECAR_SECRETS_DIR": str(secrets_dir)}


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_dev_settings_generate_private_secrets(tmp_path):
    secrets_dir = tmp_path / "secrets"
    # A permissive umask must not loosen the modes: they are set explicitly.
    code = (
        "import os; os.umask(0); "
        + SETUP
        + "; from django.conf import settings; print(len(settings.SECRET_KEY))"
    )

    result = run(code, dev_env(secrets_dir))

    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 50
    assert mode(secrets_dir) == 0o700
    files = sorted(secrets_dir.iterdir())
    assert {path.name for path in files} >= {"django_secret_key", "encryption_keys.json"}
    for path in files:
        assert mode(path) == 0o600, path.name


def test_dev_secret_key_is_stable_across_restarts(tmp_path):
    env = dev_env(tmp_path / "secrets")
    code = SETUP + "; from django.conf import settings; print(settings.SECRET_KEY)"

    first = run(code, env)
    second = run(code, env)

    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert first.stdout.strip() == (tmp_path / "secrets" / "django_secret_key").read_text().strip()


def test_dev_settings_prefer_an_explicit_secret_key(tmp_path):
    env = {**dev_env(tmp_path / "secrets"), "SECRET_KEY": "explicit-" + "x1" * 30}
    code = SETUP + "; from django.conf import settings; print(settings.SECRET_KEY)"

    result = run(code, env)

    assert result.stdout.strip() == "explicit-" + "x1" * 30
    assert not (tmp_path / "secrets" / "django_secret_key").exists()
