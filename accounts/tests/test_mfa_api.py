"""Second factor on the API: login challenge, codes, throttling, enrolment, recovery, reset."""

import logging
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import (
    AuthEvent,
    MFAChallenge,
    RecoveryCode,
    RecoveryCodeDevice,
    Role,
    TOTPDevice,
)
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.mfa_helpers import backoff_elapsed, enrol_totp, totp_code
from accounts.tests.test_auth_api import jwt_payload
from accounts.tokens import token_pair

pytestmark = pytest.mark.django_db

LOGIN = "/api/login/"
LOGIN_MFA = "/api/login/mfa/"
PROTECTED = "/api/protected/"


@pytest.fixture(autouse=True)
def _policy_on(settings):
    settings.STAFF_MFA_REQUIRED = True


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def password_step(username: str, client=None, **extra):
    return (client or APIClient()).post(
        LOGIN, {"username": username, "password": PASSWORD, **extra}
    )


def events(user, kind) -> int:
    return AuthEvent.objects.filter(user=user, kind=kind).count()


@pytest.fixture
def tech():
    return UserFactory(username="tech-mfa", technician=True)


@pytest.fixture
def device(tech):
    return enrol_totp(tech)


@pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.TECHNICIAN])
def test_staff_password_alone_gets_a_challenge_and_no_token(role):
    user = UserFactory(username="staffer", role=role)
    enrol_totp(user)

    response = password_step("staffer")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"mfa_required", "challenge"}
    assert body["mfa_required"] is True
    assert len(body["challenge"]) >= 40
    assert not MFAChallenge.objects.filter(digest=body["challenge"]).exists()  # hash only
    assert events(user, AuthEvent.Kind.MFA_CHALLENGED) == 1
    assert events(user, AuthEvent.Kind.LOGIN_SUCCEEDED) == 0


def test_the_right_code_exchanges_the_challenge_for_tokens(tech, device):
    challenge = password_step("tech-mfa").json()["challenge"]

    response = APIClient().post(
        LOGIN_MFA, {"challenge": challenge, "code": totp_code(device)}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"] == {"id": tech.pk, "username": "tech-mfa", "role": Role.TECHNICIAN}
    assert jwt_payload(body["access"])["mfa"] is True
    assert bearer(body["access"]).get(PROTECTED).status_code == 200
    assert events(tech, AuthEvent.Kind.LOGIN_SUCCEEDED) == 1
    assert not MFAChallenge.objects.filter(user=tech).exists()


def test_the_code_as_a_third_form_field_logs_in_in_one_call(tech, device):
    response = password_step("tech-mfa", otp=totp_code(device))

    assert response.status_code == 200
    assert bearer(response.json()["access"]).get(PROTECTED).json()["username"] == "tech-mfa"


def test_a_refreshed_pair_keeps_the_second_factor(tech, device):
    refresh = password_step("tech-mfa", otp=totp_code(device)).json()["refresh"]

    pair = APIClient().post("/api/token/refresh/", {"refresh": refresh}).json()

    assert jwt_payload(pair["access"])["mfa"] is True
    assert bearer(pair["access"]).get(PROTECTED).status_code == 200


def test_a_challenge_works_once(tech, device):
    challenge = password_step("tech-mfa").json()["challenge"]
    first = APIClient().post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(device)})

    again = APIClient().post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(device, 1)})

    assert first.status_code == 200
    assert again.status_code == 401
    assert again.json()["code"] == "mfa_challenge_invalid"
    assert "access" not in again.json()


def test_a_replayed_code_is_refused(tech, device):
    code = totp_code(device)
    assert password_step("tech-mfa", otp=code).status_code == 200
    challenge = password_step("tech-mfa").json()["challenge"]

    response = APIClient().post(LOGIN_MFA, {"challenge": challenge, "code": code})

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_code"
    assert events(tech, AuthEvent.Kind.MFA_FAILED) == 1


def test_an_expired_challenge_is_refused(tech, device):
    challenge = password_step("tech-mfa").json()["challenge"]
    MFAChallenge.objects.filter(user=tech).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = APIClient().post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(device)})

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_challenge_invalid"


def test_a_forged_challenge_is_refused():
    response = APIClient().post(LOGIN_MFA, {"challenge": "x" * 43, "code": "123456"})

    assert response.status_code == 401
    assert response.json()["code"] == "mfa_challenge_invalid"


def test_wrong_codes_are_throttled_per_account(tech, device):
    challenge = password_step("tech-mfa").json()["challenge"]
    wrong = f"{(int(totp_code(device)) + 500_000) % 1_000_000:06d}"

    answers = []
    for _ in range(6):
        backoff_elapsed(tech)  # the per-account rate limit alone, not the device's back-off
        answers.append(APIClient().post(LOGIN_MFA, {"challenge": challenge, "code": wrong}))
    backoff_elapsed(tech)
    right = APIClient().post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(device)})

    assert [r.status_code for r in answers] == [401] * 5 + [429]
    assert answers[-1].json()["code"] == "throttled"
    assert int(answers[-1]["Retry-After"]) > 0
    assert right.status_code == 429  # even the right code waits
    assert events(tech, AuthEvent.Kind.MFA_FAILED) == 5
    assert events(tech, AuthEvent.Kind.MFA_THROTTLED) == 2


def test_a_device_backs_off_after_a_wrong_code(tech, device):
    challenge = password_step("tech-mfa").json()["challenge"]

    wrong = APIClient().post(LOGIN_MFA, {"challenge": challenge, "code": "000000"})
    at_once = APIClient().post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(device)})
    backoff_elapsed(tech)
    later = APIClient().post(LOGIN_MFA, {"challenge": challenge, "code": totp_code(device)})

    assert (wrong.status_code, at_once.status_code, later.status_code) == (401, 429, 200)
    assert int(at_once["Retry-After"]) >= 1


def test_wrong_codes_are_throttled_per_ip_across_accounts(settings):
    settings.MFA_RATE_PER_IP = "3/10m"
    challenges = []
    for n in range(4):
        user = UserFactory(username=f"staff{n}", technician=True)
        enrol_totp(user)
        challenges.append(password_step(f"staff{n}").json()["challenge"])

    answers = [
        APIClient().post(LOGIN_MFA, {"challenge": c, "code": "000000"}, REMOTE_ADDR="198.51.100.4")
        for c in challenges
    ]

    assert [r.status_code for r in answers] == [401, 401, 401, 429]


def test_customer_login_is_unchanged():
    UserFactory(username="client-a")

    response = password_step("client-a")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh", "user"}
    assert bearer(response.json()["access"]).get(PROTECTED).status_code == 200


def test_a_customer_who_opted_in_needs_a_code_too():
    customer = UserFactory(username="client-b")
    device = enrol_totp(customer)

    assert set(password_step("client-b").json()) == {"mfa_required", "challenge"}
    assert password_step("client-b", otp=totp_code(device)).status_code == 200


def test_staff_without_a_device_can_only_enrol(tech):
    body = password_step("tech-mfa").json()
    client = bearer(body["access"])

    refused = client.get(PROTECTED)
    status = client.get("/api/mfa/")

    assert body["mfa_enrolment_required"] is True
    assert jwt_payload(body["access"])["mfa"] is False
    assert refused.status_code == 403
    assert refused.json()["code"] == "mfa_enrolment_required"
    assert status.json() == {
        "enabled": False,
        "pending": False,
        "recovery_codes_left": 0,
        "required": True,
    }


def test_with_the_policy_off_staff_without_a_device_use_the_password_alone(settings, tech):
    settings.STAFF_MFA_REQUIRED = False

    body = password_step("tech-mfa").json()

    assert "mfa_enrolment_required" not in body
    assert bearer(body["access"]).get(PROTECTED).status_code == 200


def test_enrolment_through_the_api(tech):
    old = password_step("tech-mfa").json()["access"]
    client = bearer(old)

    started = client.post("/api/mfa/totp/")
    uri = started.json()["otpauth_uri"]
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    device = TOTPDevice.objects.get(user=tech)
    before = password_step("tech-mfa").json()  # an unconfirmed device does not count yet
    wrong = client.post("/api/mfa/totp/confirm/", {"code": "000000"})
    backoff_elapsed(tech)
    confirmed = client.post("/api/mfa/totp/confirm/", {"code": totp_code(device)})

    assert started.status_code == 201
    assert (parts.scheme, parts.netloc, unquote(parts.path)) == (
        "otpauth",
        "totp",
        "/ECAR:tech-mfa",
    )
    assert query["issuer"] == ["ECAR"]
    assert query["digits"] == ["6"]
    assert started.json()["qr_svg"].lstrip().startswith("<?xml")
    assert "<svg" in started.json()["qr_svg"]
    assert "access" in before
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid_code"
    assert confirmed.status_code == 200, confirmed.content
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert bearer(old).get(PROTECTED).status_code == 401  # sessions before the factor ended
    assert bearer(confirmed.json()["access"]).get(PROTECTED).status_code == 200
    assert set(password_step("tech-mfa").json()) == {"mfa_required", "challenge"}
    assert events(tech, AuthEvent.Kind.MFA_ENROLLED) == 1


def test_staff_told_to_change_their_password_enrol_first_then_change_it(tech):
    tech.password_change_required = True
    tech.save(update_fields=["password_change_required"])
    client = bearer(password_step("tech-mfa").json()["access"])

    started = client.post("/api/mfa/totp/")
    confirmed = client.post(
        "/api/mfa/totp/confirm/", {"code": totp_code(TOTPDevice.objects.get(user=tech))}
    )
    verified = bearer(confirmed.json()["access"])
    still_refused = verified.get(PROTECTED)
    changed = verified.post(
        "/api/password/change/",
        {"current_password": PASSWORD, "new_password": "Nouveau#Secret2027"},
    )

    assert started.status_code == 201 and confirmed.status_code == 200, confirmed.content
    assert still_refused.json()["code"] == "password_change_required"
    assert changed.status_code == 200, changed.content
    assert bearer(changed.json()["access"]).get(PROTECTED).status_code == 200


def test_replacing_an_authenticator_needs_a_session_with_the_second_factor(settings, device):
    settings.STAFF_MFA_REQUIRED = False
    password_only = token_pair(device.user)["access"]
    with_code = password_step("tech-mfa", otp=totp_code(device)).json()["access"]

    refused = bearer(password_only).post("/api/mfa/totp/")
    allowed = bearer(with_code).post("/api/mfa/totp/")

    assert refused.status_code == 403
    assert refused.json()["code"] == "mfa_required"
    assert allowed.status_code == 201
    assert TOTPDevice.objects.filter(user=device.user, confirmed=True).count() == 1


def _enrolled_with_codes(username: str) -> tuple:
    """A technician enrolled through the API: (user, device, recovery codes)."""
    user = UserFactory(username=username, technician=True)
    client = bearer(password_step(username).json()["access"])
    client.post("/api/mfa/totp/")
    device = TOTPDevice.objects.get(user=user)
    body = client.post("/api/mfa/totp/confirm/", {"code": totp_code(device)}).json()
    return user, device, body["recovery_codes"]


def test_a_recovery_code_is_a_second_factor_once():
    user, _, codes = _enrolled_with_codes("lost-phone")
    challenge = password_step("lost-phone").json()["challenge"]

    used = APIClient().post(LOGIN_MFA, {"challenge": challenge, "code": codes[0].upper()})
    reused = password_step("lost-phone", otp=codes[0])
    backoff_elapsed(user)
    other = password_step("lost-phone", otp=codes[1])

    assert used.status_code == 200
    assert reused.status_code == 401
    assert other.status_code == 200
    assert RecoveryCode.objects.filter(device__user=user).count() == 8
    assert events(user, AuthEvent.Kind.RECOVERY_CODE_USED) == 2


def test_new_recovery_codes_replace_the_old_ones():
    _, device, codes = _enrolled_with_codes("regen")
    access = password_step("regen", otp=totp_code(device, 1)).json()["access"]

    response = bearer(access).post("/api/mfa/recovery-codes/")

    assert response.status_code == 201
    assert set(response.json()["recovery_codes"]).isdisjoint(codes)
    assert password_step("regen", otp=codes[0]).status_code == 401


def test_a_reset_removes_the_devices_and_ends_the_persons_tokens(super_admin):
    person, device, _ = _enrolled_with_codes("leaver")
    their_access = password_step("leaver", otp=totp_code(device, 1)).json()["access"]
    boss_device = enrol_totp(super_admin)
    boss = bearer(password_step(super_admin.username, otp=totp_code(boss_device)).json()["access"])

    response = boss.post(f"/api/users/{person.pk}/mfa/reset/")

    assert response.status_code == 204
    assert bearer(their_access).get(PROTECTED).status_code == 401
    assert not TOTPDevice.objects.filter(user=person).exists()
    assert not RecoveryCodeDevice.objects.filter(user=person).exists()
    assert events(person, AuthEvent.Kind.MFA_RESET) == 1
    deletions = LogEntry.objects.filter(
        action=LogEntry.Action.DELETE, content_type__model="totpdevice", object_id=device.pk
    )
    assert [entry.actor for entry in deletions] == [super_admin]
    # Next login: no device, so staff may only enrol a new one.
    assert password_step("leaver").json()["mfa_enrolment_required"] is True


def test_a_reset_is_for_super_admins_and_not_for_oneself(super_admin, tech, device):
    tech_access = password_step("tech-mfa", otp=totp_code(device)).json()["access"]
    boss_device = enrol_totp(super_admin)
    boss = bearer(password_step(super_admin.username, otp=totp_code(boss_device)).json()["access"])

    by_technician = bearer(tech_access).post(f"/api/users/{super_admin.pk}/mfa/reset/")
    by_oneself = boss.post(f"/api/users/{super_admin.pk}/mfa/reset/")
    unknown = boss.post("/api/users/999999/mfa/reset/")

    assert by_technician.status_code == 403
    assert by_oneself.status_code == 400
    assert by_oneself.json()["code"] == "mfa_reset_self"
    assert unknown.status_code == 404
    assert TOTPDevice.objects.filter(user=super_admin).exists()


def test_device_secrets_are_not_readable_in_the_database_audit_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    user, device, codes = _enrolled_with_codes("secretive")
    password_step("secretive", otp=codes[0])
    secret_b32 = parse_qs(urlsplit(device.config_url).query)["secret"][0]

    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM accounts_totpdevice WHERE id = %s", [device.pk])
        (stored_key,) = cursor.fetchone()
        cursor.execute(
            "SELECT digest FROM accounts_recoverycode c JOIN accounts_recoverycodedevice d "
            "ON d.id = c.device_id WHERE d.user_id = %s",
            [user.pk],
        )
        digests = [row[0] for row in cursor.fetchall()]
    audit = " ".join(str(entry.changes) for entry in LogEntry.objects.all())

    assert stored_key.startswith("e1:")
    assert device.key not in stored_key
    assert len(digests) == 9
    for code in codes:
        plain = code.replace("-", "")
        assert not any(plain in digest for digest in digests)
        assert code not in audit and code not in caplog.text
    for secret in (device.key, secret_b32):
        assert secret not in audit
        assert secret not in caplog.text
