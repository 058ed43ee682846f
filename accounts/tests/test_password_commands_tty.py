"""createsuperuser and changepassword typed at a real terminal: the password policy holds."""

import os
import pty
import select
import sys
import time

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password

from accounts.models import Role, User
from accounts.services import user_create

pytestmark = pytest.mark.django_db(transaction=True)

WEAK = "password"
STRONG = "Garage#Tty2026"
MANAGE = str(settings.BASE_DIR / "manage.py")


def database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{db['USER']}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def run_at_terminal(*args: str, answers: list[tuple[str, str]], timeout: float = 60) -> str:
    """Run manage.py under a pseudo-terminal, typing each answer after its prompt appears."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty
        os.execve(sys.executable, [sys.executable, MANAGE, *args], env)  # noqa: S606
    output, pending, seen = b"", list(answers), 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            found = output.find(pending[0][0].encode(), seen) if pending else -1
            if found >= 0:
                seen = found + len(pending[0][0])
                os.write(fd, pending.pop(0)[1].encode() + b"\n")
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    return output.decode(errors="replace")


def test_interactive_createsuperuser_offers_no_bypass_and_refuses_weak_passwords():
    output = run_at_terminal(
        "createsuperuser",
        "--username",
        "weakboss",
        answers=[("Password:", WEAK), ("Password (again):", WEAK)] * 3,
    )

    assert "Bypass" not in output
    assert "too common" in output or "must contain" in output
    assert "No superuser created after 3 refused passwords" in output
    assert not User.objects.filter(username="weakboss").exists()


def test_interactive_createsuperuser_with_a_strong_password_creates_the_super_admin():
    output = run_at_terminal(
        "createsuperuser",
        "--username",
        "boss",
        answers=[
            ("Password:", WEAK),
            ("Password (again):", WEAK),
            ("Password:", STRONG),
            ("Password (again):", STRONG),
        ],
    )

    assert "Superuser created successfully." in output, output
    user = User.objects.get(username="boss")
    assert user.role == Role.SUPER_ADMIN
    assert check_password(STRONG, user.password)


def test_interactive_changepassword_refuses_a_recent_password():
    user = user_create(username="tech9", password=STRONG, role=Role.TECHNICIAN)
    before = user.password

    output = run_at_terminal(
        "changepassword",
        "tech9",
        answers=[("Password:", STRONG), ("Password (again):", STRONG)] * 3,
    )

    assert "must differ from your last" in output, output
    user.refresh_from_db()
    assert user.password == before
