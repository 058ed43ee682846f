"""Reading settings from the environment, and the dev-only secrets folder."""

import ipaddress
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
SECRETS_DIR = Path(os.environ.get("ECAR_SECRETS_DIR", BASE_DIR / ".secrets"))

_MISSING = object()


def env(name: str, default=_MISSING) -> str:
    """Return an environment variable, or the default; no default means it is required."""
    value = os.environ.get(name)
    if value is None or value == "":
        if default is _MISSING:
            raise ImproperlyConfigured(f"The environment variable {name} is required.")
        return default
    return value


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated environment variable as a list of trimmed, non-empty items."""
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def env_flag(name: str, default: str = "false") -> bool:
    """A boolean environment variable: true/1/yes/on, anything else false."""
    return env(name, default).strip().lower() in {"1", "true", "yes", "on"}


def env_networks(name: str, default: str = "") -> list[str]:
    """A comma-separated list of CIDR networks, refused at startup when one is not valid."""
    networks = env_list(name, default)
    for cidr in networks:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {cidr!r} is not an IP network.") from exc
    return networks


def dev_secret(name: str, length: int = 64) -> str:
    """A secret generated on first use into the git-ignored secrets folder (dev and test only)."""
    SECRETS_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    SECRETS_DIR.chmod(0o700)
    path = SECRETS_DIR / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(length))
    return path.read_text().strip()
