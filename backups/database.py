"""PostgreSQL through django-dbbackup's pg_dump/pg_restore connector, plus scratch databases."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shlex
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import psycopg
from dbbackup.db.base import get_connector
from dbbackup.db.postgresql import parse_postgres_settings
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connections

from backups.errors import BackupError

SCRATCH_PREFIX = "ecar_drill_"
# django-dbbackup sets its command logger to DEBUG, which prints every pg_dump command line.
logging.getLogger("dbbackup.command").setLevel(logging.INFO)


def require_postgresql() -> None:
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        raise BackupError("Backups need PostgreSQL (DATABASE_URL=postgres://...).")


def _settings_dict(name: str | None = None) -> dict:
    """A copy of the default database's settings (for a connection of its own)."""
    settings_dict = dict(connections[DEFAULT_DB_ALIAS].settings_dict)
    settings_dict["OPTIONS"] = dict(settings_dict.get("OPTIONS") or {})
    if name:
        settings_dict["NAME"] = name
    return settings_dict


def connect(name: str | None = None, **kwargs) -> psycopg.Connection:
    """A plain psycopg connection to the default server (another database when `name` is given)."""
    wrapper = connections[DEFAULT_DB_ALIAS].__class__(_settings_dict(name), "backups-private")
    params = wrapper.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, **kwargs)


def database_url(name: str) -> str:
    """postgres:// URL of database `name` on the default server, for a child process."""
    s = _settings_dict(name)
    auth = quote(s.get("USER") or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "localhost"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(name, safe='')}"


@contextlib.contextmanager
def dump_stream(alias: str = DEFAULT_DB_ALIAS, *, snapshot: str):
    """`pg_dump --format=custom` of `alias` in `snapshot`, read from a pipe (nothing on disk).

    django-dbbackup's connector builds the connection arguments and environment (password in
    PGPASSWORD, TLS options); its own create_dump would first spool the whole dump to a
    temporary file, so the command is run here with its output streamed to the caller.
    """
    connector = get_connector(alias)
    target, pg_env = parse_postgres_settings(connector)
    args = [connector.dump_cmd, *shlex.split(target), "--format=custom", f"--snapshot={snapshot}"]
    args += [f"--exclude-table-data={table}" for table in connector.exclude]
    env = {**os.environ, **connector.env, **connector.dump_env, **pg_env}
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=env)  # noqa: S603
        try:
            yield process.stdout
        finally:
            process.stdout.close()
            returncode = process.wait()
        if returncode:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-1:] or ["?"]
            raise BackupError(f"pg_dump failed ({returncode}): {tail[0]}")


def restore(alias: str, dump_path: Path, *, owner: bool = True) -> None:
    """pg_restore a custom-format dump into `alias` in one transaction."""
    connector = get_connector(alias)
    if not owner:
        # A scratch copy on a recovery host, where the application's role may not exist.
        connector.pg_options = ["--no-owner", "--no-privileges"]
    with dump_path.open("rb") as handle:
        connector.restore_dump(File(handle))


@contextlib.contextmanager
def scratch_database():
    """A new, empty database on the default server, registered as a Django alias, then dropped."""
    live = connections[DEFAULT_DB_ALIAS].settings_dict["NAME"]
    name = f"{SCRATCH_PREFIX}{secrets.token_hex(6)}"
    if name == live:
        raise BackupError("Refusing to use the live database as a scratch database.")
    with connect(autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    connections.settings[name] = _settings_dict(name)
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            connections[name].close()
        with contextlib.suppress(Exception):
            del connections[name]
        connections.settings.pop(name, None)
        with connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
