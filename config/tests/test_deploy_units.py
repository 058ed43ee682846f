"""deploy/: the gunicorn unit's sandbox (systemd-analyze), log retention of a year or more."""

import os
import re
import shutil
import subprocess
from configparser import ConfigParser
from pathlib import Path

import pytest
from django.conf import settings

DEPLOY = Path(settings.BASE_DIR) / "deploy"


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing: .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return path


def test_gunicorn_unit_exposure_is_at_most_1_5():
    result = subprocess.run(  # noqa: S603
        [
            tool("systemd-analyze"),
            "security",
            "--offline=yes",
            str(DEPLOY / "systemd/ecar.service"),
        ],
        capture_output=True,
        text=True,
    )

    level = re.search(r"Overall exposure level for ecar\.service: ([\d.]+)", result.stdout)
    assert level, result.stdout + result.stderr
    assert float(level.group(1)) <= 1.5


def test_gunicorn_unit_keeps_the_required_restrictions():
    unit = (DEPLOY / "systemd/ecar.service").read_text()

    for line in [
        "IPAddressDeny=any",
        "IPAddressAllow=localhost",
        "ProcSubset=pid",
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged @resources",
        "PrivateUsers=yes",
    ]:
        assert f"\n{line}\n" in unit, line


def test_nginx_logrotate_keeps_400_compressed_days():
    config = (DEPLOY / "logrotate/nginx").read_text()
    result = subprocess.run(  # noqa: S603
        [tool("logrotate"), "--debug", str(DEPLOY / "logrotate/nginx")],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert not re.search(r"^error", result.stderr, re.M | re.I)
    assert re.search(r"^\s*rotate 400$", config, re.M)
    assert re.search(r"^\s*daily$", config, re.M)
    assert re.search(r"^\s*compress$", config, re.M)


def test_journal_keeps_a_year():
    parser = ConfigParser()
    parser.read(DEPLOY / "journald/ecar-retention.conf")
    journal = parser["Journal"]

    assert journal["Storage"] == "persistent"
    assert int(journal["MaxRetentionSec"].removesuffix("day")) >= 365
    assert journal["SystemMaxUse"].endswith("G")


def test_audit_timer_runs_weekly_and_the_service_runs_the_audit():
    timer = (DEPLOY / "systemd/ecar-audit.timer").read_text()
    service = (DEPLOY / "systemd/ecar-audit.service").read_text()

    assert "OnCalendar=Mon " in timer
    assert "ExecStart=/srv/ecar/venv/bin/python deploy/security_audit.py" in service
