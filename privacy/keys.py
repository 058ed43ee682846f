"""Key ring for field encryption and blind indexes, read lazily from settings."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed  # the same signal as django.test.signals'

KEY_SIZE = 32
KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,16}")
_B64_RE = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_MIN_DISTINCT_BYTES = 16  # random 32-byte keys have ~30; fewer means "not random"
_KEY_SETTINGS = frozenset(
    {"FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "ENCRYPTION_KEY_FILE"}
)
# Labels used in problem messages; the JSON key file uses the same names. (Backups are encrypted
# to GnuPG public keys by the backups app: no backup key here.)
_ROLES = {
    "field_keys": "field encryption key ring (FIELD_ENCRYPTION_KEYS)",
    "blind_index_key": "blind index key (BLIND_INDEX_KEY)",
}

_Ring = list[tuple[str, bytes]]


class KeyConfigurationError(ImproperlyConfigured):
    """The encryption keys are missing, malformed, weak or reused."""


class UnknownKeyError(Exception):
    """No key with this id is in the ring."""


@dataclass(frozen=True)
class KeyRing:
    """Ordered field keys (first is active) plus the blind index key."""

    field_keys: tuple[tuple[str, bytes], ...] = field(repr=False)
    index_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        """Refuse an empty ring."""
        if not self.field_keys:
            raise KeyConfigurationError("The field encryption key ring is empty.")

    @property
    def active_id(self) -> str:
        """Id of the key new values are encrypted under."""
        return self.field_keys[0][0]

    @property
    def active_key(self) -> bytes:
        """The key new values are encrypted under."""
        return self.field_keys[0][1]

    @property
    def ids(self) -> tuple[str, ...]:
        """All key ids, active first."""
        return tuple(kid for kid, _ in self.field_keys)

    def get(self, kid: str) -> bytes:
        """The key with this id, for decryption."""
        for candidate, key in self.field_keys:
            if candidate == kid:
                return key
        raise UnknownKeyError(f"No encryption key with id {kid!r} in the key ring.")


def generate_key() -> str:
    """A fresh random 32-byte key as urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(os.urandom(KEY_SIZE)).rstrip(b"=").decode("ascii")


def format_key_entry(kid: str, key: str | bytes) -> str:
    """One `kid:b64` entry of FIELD_ENCRYPTION_KEYS."""
    if not KEY_ID_RE.fullmatch(kid):
        raise ValueError("A key id is 1-16 characters of [A-Za-z0-9_-].")
    raw = key if isinstance(key, bytes) else decode_key(key)
    if len(raw) != KEY_SIZE:
        raise ValueError(f"A key must be exactly {KEY_SIZE} bytes.")
    return f"{kid}:{base64.urlsafe_b64encode(raw).rstrip(b'=').decode('ascii')}"


def decode_key(text: str) -> bytes:
    """Strictly decode urlsafe base64 (padding optional); ValueError never shows the input."""
    text = text.strip()
    if not _B64_RE.fullmatch(text):
        raise ValueError("not urlsafe base64")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not urlsafe base64") from None


def read_key_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read the JSON key file, refusing it unless only its owner may read or write it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise KeyConfigurationError(
            f"Cannot open ENCRYPTION_KEY_FILE {path}: {exc.strerror}."
        ) from None
    with os.fdopen(fd, "rb") as handle:
        # fstat on the open descriptor: the checked file is the file read.
        st = os.fstat(handle.fileno())
        mode = stat.S_IMODE(st.st_mode)
        if not stat.S_ISREG(st.st_mode) or mode & 0o077 or not mode & stat.S_IRUSR:
            raise KeyConfigurationError(
                f"ENCRYPTION_KEY_FILE {path} must be a regular file with mode 0600 "
                f"(it is {mode:04o}): chmod 600 it."
            )
        try:
            data = json.loads(handle.read())
        except (UnicodeDecodeError, ValueError):
            raise KeyConfigurationError(f"ENCRYPTION_KEY_FILE {path} is not valid JSON.") from None
    if not isinstance(data, dict) or any(not isinstance(data.get(k, ""), str) for k in _ROLES):
        raise KeyConfigurationError(
            f"ENCRYPTION_KEY_FILE {path} must be a JSON object of strings: {', '.join(_ROLES)}."
        )
    return {name: data.get(name, "") for name in _ROLES}


def _settings_config() -> dict[str, str]:
    """The key strings, from ENCRYPTION_KEY_FILE when it is set, else from settings."""
    path = getattr(settings, "ENCRYPTION_KEY_FILE", None)
    if path:
        return read_key_file(path)
    return {
        "field_keys": getattr(settings, "FIELD_ENCRYPTION_KEYS", "") or "",
        "blind_index_key": getattr(settings, "BLIND_INDEX_KEY", "") or "",
    }


def _parse(config: Mapping[str, str | None]) -> tuple[_Ring, dict[str, bytes], list[str]]:
    """Decode the ring and role keys; return (ring, {role: key}, problems)."""
    problems: list[str] = []
    ring: _Ring = []
    seen_ids: set[str] = set()
    ring_label = _ROLES["field_keys"]
    entries = [e.strip() for e in (config.get("field_keys") or "").split(",") if e.strip()]
    if not entries:
        problems.append(f"The {ring_label} is empty: at least one key is required.")
    for position, entry in enumerate(entries, start=1):
        kid, sep, encoded = entry.partition(":")
        kid = kid.strip()
        if not sep or not KEY_ID_RE.fullmatch(kid):
            problems.append(
                f"Entry {position} of the {ring_label} is malformed: expected 'kid:base64key' "
                "with a key id of 1-16 characters [A-Za-z0-9_-]."
            )
            continue
        key = _decode_checked(encoded, f"key {kid!r} of the {ring_label}", problems)
        if kid in seen_ids:
            problems.append(f"Key id {kid!r} appears more than once in the {ring_label}.")
        elif key is not None:
            ring.append((kid, key))
        seen_ids.add(kid)
    roles: dict[str, bytes] = {}
    for role in ("blind_index_key",):
        text = (config.get(role) or "").strip()
        if not text:
            problems.append(f"The {_ROLES[role]} is missing.")
            continue
        key = _decode_checked(text, _ROLES[role], problems)
        if key is not None:
            roles[role] = key
    return ring, roles, problems


def _decode_checked(text: str, label: str, problems: list[str]) -> bytes | None:
    """Decode one key, recording why it is unusable (never its value) in problems."""
    if not text.strip():
        problems.append(f"The {label} is empty.")
        return None
    try:
        key = decode_key(text)
    except ValueError:
        problems.append(f"The {label} is not urlsafe base64.")
        return None
    if len(key) != KEY_SIZE:
        problems.append(f"The {label} is {len(key)} bytes, expected {KEY_SIZE}.")
        return None
    if len(set(key)) < _MIN_DISTINCT_BYTES:
        problems.append(
            f"The {label} looks weak (too few distinct bytes): generate it with os.urandom."
        )
    return key


def _reuse_problems(ring: _Ring, roles: dict[str, bytes]) -> list[str]:
    """The same key bytes used twice, in the ring or across roles."""
    problems: list[str] = []
    seen: dict[bytes, str] = {}
    labelled = [(f"key {kid!r} of the {_ROLES['field_keys']}", key) for kid, key in ring]
    labelled += [(_ROLES[role], key) for role, key in roles.items()]
    for label, key in labelled:
        if key in seen:
            problems.append(f"The same key is used as the {seen[key]} and as the {label}.")
        else:
            seen[key] = label
    return problems


def validate_key_config(config: Mapping[str, str | None] | None = None) -> list[str]:
    """Human-readable problems with the key configuration (settings when config is None)."""
    if config is None:
        try:
            config = _settings_config()
        except KeyConfigurationError as exc:
            return [str(exc)]
    ring, roles, problems = _parse(config)
    return problems + _reuse_problems(ring, roles)


def load_keys(config: Mapping[str, str | None]) -> KeyRing:
    """Build a KeyRing, raising KeyConfigurationError listing every problem."""
    ring, roles, problems = _parse(config)
    problems += _reuse_problems(ring, roles)
    if problems:
        raise KeyConfigurationError("Invalid encryption key configuration: " + " ".join(problems))
    return KeyRing(tuple(ring), roles["blind_index_key"])


@lru_cache(maxsize=1)
def get_keys() -> KeyRing:
    """The configured key ring, loaded on first use and cached."""
    return load_keys(_settings_config())


def reset_keys_cache() -> None:
    """Forget the cached key ring (after settings change)."""
    get_keys.cache_clear()


def _on_setting_changed(*, setting: str, **kwargs: object) -> None:
    """Reload keys when a key setting is overridden (tests)."""
    if setting in _KEY_SETTINGS:
        reset_keys_cache()


setting_changed.connect(_on_setting_changed, dispatch_uid="privacy.keys.reset_keys_cache")


def write_dev_key_file(path: str | os.PathLike[str]) -> Path:
    """Create a 0600 JSON key file with fresh keys unless one already exists (dev only)."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        return path
    content = json.dumps(
        {
            "field_keys": format_key_entry("k1", generate_key()),
            "blind_index_key": generate_key(),
        },
        indent=2,
    )
    # Write a private temp file, then hard-link it into place: readers never see a partial
    # file and an existing key file (keys that encrypted data) is never overwritten.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(content + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: keep its keys
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
