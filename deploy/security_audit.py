"""Dependency and code scanning: pip-audit on the pinned requirements, bandit on the code.

Run by `make audit` and weekly on the server by deploy/systemd/ecar-audit.timer:
    python deploy/security_audit.py [--no-bandit]
Prints what it checked and what it could not. Findings are logged at ERROR and sent to Sentry
(SENTRY_DSN), and the exit status is 1. An advisory source that does not answer is reported as
"NOT CHECKED", never as a pass (exit status 0 unless --strict).
"""

import argparse
import json
import logging
import os
import subprocess  # nosec B404 - runs the two scanners, fixed arguments
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Every app (a folder with an apps.py), the project package and deploy/.
CODE = sorted({p.parent.name for p in ROOT.glob("*/apps.py")} | {"config", "deploy"})
logger = logging.getLogger("ecar.audit")


def pip_audit(requirements: Path) -> tuple[list[str], list[str], int]:
    """(findings, not checked, packages checked) for one pinned requirements file."""
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "-r",
        str(requirements),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "-f",
        "json",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)  # noqa: S603  # nosec B603
    try:
        report = json.loads(run.stdout)
    except ValueError:
        reason = (run.stderr.strip().splitlines() or ["no answer"])[-1][:200]
        return [], [f"{requirements.name}: advisory source unreachable ({reason})"], 0
    findings, skipped, checked = [], [], 0
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency:
            skipped.append(dependency["name"])
            continue
        checked += 1
        for vuln in dependency.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            findings.append(
                f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})"
            )
    not_checked = [f"{requirements.name}: {name} (no answer for it)" for name in skipped]
    return findings, not_checked, checked


def bandit() -> tuple[list[str], int]:
    """(findings, files scanned) of bandit over the application code, tests excluded."""
    command = [
        sys.executable,
        "-m",
        "bandit",
        "-r",
        *CODE,
        "-q",
        "-f",
        "json",
        "-x",
        "*/tests/*,*/migrations/*",
        "--severity-level",
        "medium",
    ]
    run = subprocess.run(  # noqa: S603  # nosec B603
        command, capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    report = json.loads(run.stdout)
    findings = [
        f"{r['filename']}:{r['line_number']}: {r['test_id']} {r['issue_text']}"
        for r in report["results"]
    ]
    return findings, len(report["metrics"]) - 1


def report_findings(findings: list[str]) -> None:
    """ERROR log (the journal on the server) and one Sentry event naming the findings."""
    message = f"Security audit: {len(findings)} finding(s): " + "; ".join(findings)
    logger.error(message)
    dsn = os.environ.get("SENTRY_DSN")
    if dsn:
        import sentry_sdk

        from config.sentry import init_sentry

        init_sentry(dsn=dsn, environment=os.environ.get("SENTRY_ENVIRONMENT", "production"))
        sentry_sdk.capture_message(message, level="error")
        sentry_sdk.flush(10)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-bandit", action="store_true", help="dependencies only")
    parser.add_argument("--strict", action="store_true", help="exit 2 when something is unchecked")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    sys.path.insert(0, str(ROOT))

    findings, not_checked = [], []
    for requirements in (ROOT / "requirements.txt", ROOT / "requirements-audit.txt"):
        found, unchecked, checked = pip_audit(requirements)
        findings += found
        not_checked += unchecked
        print(
            f"pip-audit {requirements.name}: {checked} packages checked, "
            f"{len(found)} vulnerable, {len(unchecked)} NOT CHECKED"
        )
    if not args.no_bandit:
        found, files = bandit()
        findings += found
        print(f"bandit: {files} files scanned, {len(found)} findings (medium severity or more)")
    for line in not_checked:
        print(f"NOT CHECKED: {line}")
    for line in findings:
        print(f"FINDING: {line}")
    if findings:
        report_findings(findings)
        return 1
    if not_checked:
        logger.warning("Security audit incomplete: %d item(s) not checked", len(not_checked))
        return 2 if args.strict else 0
    print("Security audit: no known vulnerability, no bandit finding.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
