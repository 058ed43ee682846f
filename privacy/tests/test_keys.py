"""Tests for the key ring: loading, validation, key file permissions and dev key files."""

import base64
import json
import os
import stat

import pytest

from privacy import keys as keys_module
from privacy.keys import (
    KeyConfigurationError,
    UnknownKeyError,
    decode_key,
    format_key_entry,
    generate_key,
    get_keys,
    reset_keys_cache,
    validate_key_config,
    write_dev_key_file,
)

pytestmark = pytest.mark.usefixtures("key_settings")


def b64(raw: bytes) -> str:
    """Urlsafe base64 without padding, as in settings."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def config(field_keys, index=None):
    """A config mapping with a fresh index key unless given."""
    return {
        "field_keys": field_keys,
        "blind_index_key": generate_key() if index is None else index,
    }


def test_ring_from_settings(key_settings):
    ring = get_keys()
    assert ring.active_id == "k1"
    assert ring.active_key == decode_key(key_settings.k1)
    assert len(ring.active_key) == 32
    assert ring.ids == ("k1",)
    assert ring.get("k1") == ring.active_key
    assert ring.index_key == decode_key(key_settings.index)


def test_unknown_key_id_raises():
    with pytest.raises(UnknownKeyError):
        get_keys().get("nope")


def test_first_key_is_active_others_decrypt_only(settings, key_settings):
    settings.FIELD_ENCRYPTION_KEYS = f"k2:{key_settings.k2}, k1:{key_settings.k1}"
    ring = get_keys()
    assert ring.active_id == "k2"
    assert ring.active_key == decode_key(key_settings.k2)
    assert ring.ids == ("k2", "k1")
    assert ring.get("k1") == decode_key(key_settings.k1)


def test_padded_keys_are_accepted(settings, key_settings):
    settings.FIELD_ENCRYPTION_KEYS = f"k1:{key_settings.k1}="
    assert get_keys().active_key == decode_key(key_settings.k1)


def test_cached_until_a_key_setting_changes(settings, key_settings):
    first = get_keys()
    assert get_keys() is first
    # No explicit reset: the setting_changed receiver must drop the cache.
    settings.FIELD_ENCRYPTION_KEYS = f"k2:{key_settings.k2}"
    assert get_keys().active_id == "k2"
    assert get_keys() is not first


def test_unrelated_setting_change_keeps_cache(settings):
    first = get_keys()
    settings.SOME_UNRELATED_SETTING = "x"
    assert get_keys() is first


def test_repr_does_not_show_keys(key_settings):
    ring = get_keys()
    text = repr(ring) + str(ring)
    for secret in (key_settings.k1, key_settings.index):
        assert secret not in text
    assert repr(ring.active_key) not in text


def test_invalid_settings_raise_without_leaking_key(settings):
    short = b64(os.urandom(16))
    settings.FIELD_ENCRYPTION_KEYS = f"k1:{short}"
    with pytest.raises(KeyConfigurationError) as excinfo:
        get_keys()
    assert "16 bytes" in str(excinfo.value)
    assert short not in str(excinfo.value)


def test_missing_ring_raises(settings):
    settings.FIELD_ENCRYPTION_KEYS = ""
    with pytest.raises(KeyConfigurationError, match="empty"):
        get_keys()


def test_weak_key_refused_at_load(settings):
    settings.FIELD_ENCRYPTION_KEYS = f"k1:{b64(bytes(32))}"
    with pytest.raises(KeyConfigurationError, match="weak"):
        get_keys()


# --- validate_key_config -------------------------------------------------------------------


def test_valid_config_has_no_problems(key_settings):
    assert validate_key_config() == []
    assert validate_key_config(config(f"k1:{generate_key()},k0:{generate_key()}")) == []


def test_empty_ring():
    problems = validate_key_config(config(""))
    assert len(problems) == 1
    assert "empty" in problems[0]


@pytest.mark.parametrize("entry", ["nocolon", "bad id!:{key}", ":{key}", "a" * 17 + ":{key}"])
def test_malformed_entry(entry):
    key = generate_key()
    problems = validate_key_config(config(entry.format(key=key)))
    assert len(problems) == 1
    assert "malformed" in problems[0]
    assert key not in problems[0]


@pytest.mark.parametrize("size", [1, 16, 31, 33, 64])
def test_wrong_key_length(size):
    key = b64(os.urandom(size))
    problems = validate_key_config(config(f"k1:{key}"))
    assert len(problems) == 1
    assert f"{size} bytes, expected 32" in problems[0]
    assert key not in problems[0]


def test_empty_key_in_ring():
    problems = validate_key_config(config("k1:"))
    assert len(problems) == 1
    assert "'k1'" in problems[0]
    assert "empty" in problems[0]


def test_not_base64():
    problems = validate_key_config(config("k1:not+base64/at*all"))
    assert len(problems) == 1
    assert "base64" in problems[0]
    assert "not+base64" not in problems[0]


def test_weak_all_zero_key():
    key = b64(bytes(32))
    problems = validate_key_config(config(f"k1:{key}"))
    assert len(problems) == 1
    assert "weak" in problems[0]
    assert key not in problems[0]


def test_weak_few_distinct_bytes():
    problems = validate_key_config(config("k1:" + b64(bytes(range(8)) * 4)))
    assert len(problems) == 1
    assert "weak" in problems[0]


def test_duplicate_key_id():
    problems = validate_key_config(config(f"k1:{generate_key()},k1:{generate_key()}"))
    assert problems == [
        "Key id 'k1' appears more than once in the field encryption key ring "
        "(FIELD_ENCRYPTION_KEYS)."
    ]


def test_duplicate_key_id_after_a_bad_entry():
    problems = validate_key_config(config(f"k1:short,k1:{generate_key()}"))
    assert len(problems) == 2
    assert "not urlsafe base64" in problems[0] or "bytes, expected 32" in problems[0]
    assert "more than once" in problems[1]


def test_same_key_twice_in_ring():
    key = generate_key()
    problems = validate_key_config(config(f"k1:{key},k2:{key}"))
    assert len(problems) == 1
    assert "same key" in problems[0]
    assert key not in problems[0]


def test_same_key_across_roles():
    key = generate_key()
    cfg = config(f"k1:{key}", index=key)
    problems = validate_key_config(cfg)
    assert len(problems) == 1
    assert "same key" in problems[0]
    assert "blind index key" in problems[0]
    assert key not in problems[0]


def test_missing_index_key():
    problems = validate_key_config(config(f"k1:{generate_key()}", index=""))
    assert problems == ["The blind index key (BLIND_INDEX_KEY) is missing."]


def test_a_leftover_backup_key_is_not_a_role_any_more():
    # Backups are encrypted to GnuPG public keys (backups app): an old key file's entry is unused.
    assert validate_key_config({**config(f"k1:{generate_key()}"), "backup_key": "x"}) == []


def test_every_problem_is_reported_at_once():
    problems = validate_key_config(config("k1:" + b64(bytes(32)) + ",bad,k2:x", index=""))
    assert len(problems) == 4


# --- key file ------------------------------------------------------------------------------


def write_key_file(path, mode, **values):
    """Write a JSON key file with the given mode."""
    path.write_text(json.dumps(values))
    os.chmod(path, mode)
    return path


@pytest.fixture
def file_keys(tmp_path):
    """A valid key file's contents (different from the keys in settings) and its path."""
    values = {
        "field_keys": f"f1:{generate_key()}",
        "blind_index_key": generate_key(),
    }
    return tmp_path / "keys.json", values


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_key_file_with_private_mode_is_used(settings, file_keys, mode):
    path, values = file_keys
    write_key_file(path, mode, **values)
    settings.ENCRYPTION_KEY_FILE = str(path)
    ring = get_keys()
    assert ring.active_id == "f1"
    assert ring.active_key == decode_key(values["field_keys"][3:])
    assert ring.index_key == decode_key(values["blind_index_key"])
    assert validate_key_config() == []


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606, 0o200, 0o000])
def test_key_file_refused_unless_private(settings, file_keys, mode):
    path, values = file_keys
    write_key_file(path, mode, **values)
    settings.ENCRYPTION_KEY_FILE = str(path)
    with pytest.raises(KeyConfigurationError, match="0600"):
        get_keys()
    problems = validate_key_config()
    assert len(problems) == 1
    assert "0600" in problems[0]
    assert values["blind_index_key"] not in problems[0]


def test_key_file_missing(settings, tmp_path):
    settings.ENCRYPTION_KEY_FILE = str(tmp_path / "absent.json")
    with pytest.raises(KeyConfigurationError, match="Cannot open"):
        get_keys()


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"field_keys": 5}'])
def test_key_file_malformed(settings, tmp_path, content):
    path = tmp_path / "keys.json"
    path.write_text(content)
    os.chmod(path, 0o600)
    settings.ENCRYPTION_KEY_FILE = str(path)
    with pytest.raises(KeyConfigurationError):
        get_keys()


def test_key_file_values_are_validated(settings, file_keys):
    path, values = file_keys
    write_key_file(path, 0o600, **{**values, "field_keys": f"f1:{values['blind_index_key']}"})
    settings.ENCRYPTION_KEY_FILE = str(path)
    with pytest.raises(KeyConfigurationError, match="same key"):
        get_keys()


# --- generation helpers --------------------------------------------------------------------


def test_generate_key():
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert len(key) == 43
        assert "=" not in key
        assert len(decode_key(key)) == 32


def test_format_key_entry():
    key = generate_key()
    assert format_key_entry("k9", key) == f"k9:{key}"
    assert format_key_entry("k9", key + "=") == f"k9:{key}"
    assert format_key_entry("k9", decode_key(key)) == f"k9:{key}"
    with pytest.raises(ValueError):
        format_key_entry("bad:id", key)
    with pytest.raises(ValueError):
        format_key_entry("k9", os.urandom(16))


def test_write_dev_key_file_creates_private_file(settings, tmp_path):
    path = tmp_path / "secrets" / "nested" / "keys.json"
    assert write_dev_key_file(path) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    data = json.loads(path.read_text())
    assert data["field_keys"].startswith("k1:")
    assert validate_key_config(data) == []
    assert sorted(os.listdir(path.parent)) == ["keys.json"]
    settings.ENCRYPTION_KEY_FILE = str(path)
    assert get_keys().active_id == "k1"
    assert get_keys().index_key == decode_key(data["blind_index_key"])
    assert "backup_key" not in data


def test_write_dev_key_file_never_overwrites(tmp_path):
    path = write_dev_key_file(tmp_path / "keys.json")
    before = path.read_text()
    assert write_dev_key_file(path) == path
    assert path.read_text() == before
    other = tmp_path / "existing.json"
    other.write_text("keep me")
    write_dev_key_file(other)
    assert other.read_text() == "keep me"


def test_write_dev_key_file_loses_a_race_without_overwriting(tmp_path, monkeypatch):
    path = tmp_path / "keys.json"

    def racing_generate_key():
        # Another process creates the file after our existence check.
        if not path.exists():
            path.write_text("winner")
        return generate_key()

    monkeypatch.setattr(keys_module, "generate_key", racing_generate_key)
    assert write_dev_key_file(path) == path
    assert path.read_text() == "winner"
    assert os.listdir(tmp_path) == ["keys.json"]


def test_two_dev_key_files_differ(tmp_path):
    first = json.loads(write_dev_key_file(tmp_path / "a.json").read_text())
    second = json.loads(write_dev_key_file(tmp_path / "b.json").read_text())
    assert first != second
    assert set(first.values()).isdisjoint(second.values())


def test_reset_keys_cache_reloads():
    first = get_keys()
    reset_keys_cache()
    assert get_keys() is not first
    assert get_keys() == first
