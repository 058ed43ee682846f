"""Fixtures of the incidents tests: no grace period, commands, people and staff."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Role
from accounts.services import user_create
from garage.tests.factories import CustomerFactory

PASSWORD = "Garage#Pass2026"


@pytest.fixture(autouse=True)
def _no_grace(settings):
    """Records are sealed and read by the detectors as soon as they exist."""
    settings.SECURITY_RECORD_GRACE_SECONDS = 0


@pytest.fixture
def run_detectors():
    def run() -> str:
        out = io.StringIO()
        call_command("run_detectors", stdout=out)
        return out.getvalue()

    return run


@pytest.fixture
def verify_audit():
    """Run verify_audit: (ok, stdout, stderr + error message)."""

    def run(*args) -> tuple[bool, str, str]:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("verify_audit", *args, stdout=out, stderr=err)
        except CommandError as exc:
            return False, out.getvalue(), err.getvalue() + str(exc)
        return True, out.getvalue(), err.getvalue()

    return run


@pytest.fixture
def make_customer(db):
    """A customer account with its customer record and contact details."""

    def make(username: str, *, language: str = "fr", email: str | None = None, phone=None):
        user = user_create(
            username=username,
            password=PASSWORD,
            role=Role.CUSTOMER,
            contact={
                "full_name": f"Nom {username}",
                "email": email or f"{username}@exemple-client.tn",
                "phone": phone,
                "language": language,
            },
        )
        CustomerFactory(user=user)
        return user

    return make


@pytest.fixture
def admin_user(db):
    return user_create(
        username="chef",
        password=PASSWORD,
        role=Role.SUPER_ADMIN,
        contact={"full_name": "Chef Atelier", "email": "chef@garage-ecar.tn"},
    )


@pytest.fixture
def sentry_events():
    """Sentry events as they would leave the process (the project's scrubber applied).

    The Sentry server cannot run here: a transport keeps the envelopes instead of sending them.
    """
    import sentry_sdk
    from sentry_sdk.transport import Transport

    from config.sentry import scrub_event

    events: list[dict] = []

    class KeepTransport(Transport):
        def capture_envelope(self, envelope):
            events.extend(item.payload.json for item in envelope.items if item.type == "event")

    previous = sentry_sdk.get_client()
    sentry_sdk.init(
        dsn="https://public@sentry.invalid/1",
        transport=KeepTransport,
        default_integrations=False,
        before_send=scrub_event,
    )
    yield events
    sentry_sdk.get_global_scope().set_client(previous)
