"""The admin site: TOTP second factor, IP allow-list, password policy on the admin path."""

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory

from accounts import mfa
from accounts.models import AuthEvent, Role, TOTPDevice
from accounts.services import user_create
from accounts.tests.mfa_helpers import backoff_elapsed, enrol_totp, totp_code
from privacy.models import AccessRecord

PASSWORD = "Garage#Pass2026"
pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return user_create(username="chief", password=PASSWORD, role=Role.SUPER_ADMIN)


def _login(client, device=None, token=""):
    data = {"username": "chief", "password": PASSWORD, "next": "/admin/"}
    if device is not None:
        data |= {"otp_token": token}
    return client.post("/admin/login/?next=/admin/", data)


def _current_token(device: TOTPDevice) -> str:
    return totp_code(device)


def test_admin_login_without_second_factor_is_refused(client, admin_user):
    enrol_totp(admin_user)

    response = _login(client)

    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302


def test_admin_login_with_a_wrong_totp_code_is_refused(client, admin_user):
    device = enrol_totp(admin_user)
    wrong = f"{(int(_current_token(device)) + 1) % 1_000_000:06d}"

    _login(client, device, wrong)

    assert client.get("/admin/").status_code == 302


def test_admin_login_with_password_and_totp_code_works(client, admin_user):
    device = enrol_totp(admin_user)

    response = _login(client, device, _current_token(device))

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_totp_enroll_prints_an_otpauth_uri_for_staff_only(admin_user, capsys):
    call_command("totp_enroll", "chief")

    assert capsys.readouterr().out.startswith("otpauth://totp/ECAR:chief?")
    assert TOTPDevice.objects.filter(user=admin_user, confirmed=True).count() == 1


def test_admin_is_unreachable_from_outside_the_allow_list(client, admin_user, settings):
    settings.ADMIN_ALLOWED_NETWORKS = ["10.8.0.0/24"]

    assert client.get("/admin/login/", REMOTE_ADDR="203.0.113.7").status_code == 403
    assert client.get("/admin/login/", REMOTE_ADDR="10.8.0.9").status_code == 200


def test_spoofed_forwarded_for_does_not_open_the_admin(client, admin_user, settings):
    settings.ADMIN_ALLOWED_NETWORKS = ["10.8.0.0/24"]
    settings.TRUSTED_PROXIES = []

    response = client.get(
        "/admin/login/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="10.8.0.9"
    )

    assert response.status_code == 403


def test_deactivating_a_user_in_the_admin_ends_their_tokens(client, admin_user, make_user):
    device = enrol_totp(admin_user)
    _login(client, device, _current_token(device))
    victim = make_user("leaver", Role.TECHNICIAN)
    generation = victim.token_generation

    response = client.post(
        f"/admin/accounts/user/{victim.pk}/change/",
        {
            "username": "leaver",
            "role": Role.TECHNICIAN,
            "is_active": "",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "1",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-user": str(victim.pk),
            "profile-0-id": str(victim.profile.pk),
            "profile-0-full_name": "",
            "profile-0-email": "",
            "profile-0-phone": "",
            "profile-0-address": "",
        },
    )

    assert response.status_code == 302, response.content[:2000]
    victim.refresh_from_db()
    assert not victim.is_active
    assert victim.token_generation == generation + 1


def test_reading_a_person_in_the_admin_is_an_access_record(client, admin_user, make_user):
    device = enrol_totp(admin_user)
    _login(client, device, _current_token(device))
    person = make_user("reader-target", Role.CUSTOMER)

    response = client.get(f"/admin/accounts/user/{person.pk}/change/")

    assert response.status_code == 200
    record = AccessRecord.objects.get(subject_user=person)
    assert (record.actor, record.action, record.actor_role) == (
        admin_user,
        "user.admin_read",
        Role.SUPER_ADMIN,
    )


@pytest.mark.parametrize("term", ["Zeineb.Admin@Example.tn", "+216 22 333 445", "22333445"])
def test_admin_finds_a_user_by_exact_email_or_phone(client, admin_user, term):
    device = enrol_totp(admin_user)
    _login(client, device, _current_token(device))
    user_create(
        username="zk",
        password=PASSWORD,
        contact={"full_name": "Zeineb K", "email": "zeineb.admin@example.tn", "phone": "22333445"},
    )
    user_create(username="other", password=PASSWORD)

    response = client.get("/admin/accounts/user/", {"q": term})

    assert response.status_code == 200
    found = [user.username for user in response.context["cl"].result_list]
    assert found == ["zk"]


def test_the_login_form_has_one_numeric_code_field_and_no_device_picker(client, admin_user):
    enrol_totp(admin_user)

    page = client.get("/admin/login/").content.decode()
    again = _login(client).content.decode()  # the form after the password, without a code

    for html in (page, again):
        assert 'name="otp_device"' not in html
        assert 'name="otp_challenge"' not in html
        assert 'inputmode="numeric"' in html
        assert 'autocomplete="one-time-code"' in html


def test_staff_without_a_device_can_only_enrol_in_the_admin(client, admin_user):
    response = _login(client)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/accounts/user/").status_code == 302
    assert client.get("/admin/login/")["Location"] == "/admin/mfa/"
    assert client.get("/admin/mfa/").status_code == 200


def test_enrolling_in_the_admin_verifies_the_session_and_shows_recovery_codes(client, admin_user):
    _login(client)

    started = client.post("/admin/mfa/", {"action": "start"})
    qr = client.get("/admin/mfa/qr.svg")
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    confirmed = client.post("/admin/mfa/", {"action": "confirm", "code": totp_code(device)})

    assert b'src="/admin/mfa/qr.svg"' in started.content
    assert (qr.status_code, qr["Content-Type"]) == (200, "image/svg+xml")
    assert b"<svg" in qr.content
    assert "no-store" in qr["Cache-Control"]
    assert "otpauth://totp/ECAR:chief?" in started.content.decode().replace("&amp;", "&")
    assert confirmed.status_code == 200
    assert len(confirmed.context["recovery_codes"]) == 10
    assert client.get("/admin/").status_code == 200
    assert AuthEvent.objects.filter(user=admin_user, kind=AuthEvent.Kind.MFA_ENROLLED).exists()


def test_a_password_alone_cannot_replace_an_enrolled_device(client, admin_user):
    enrol_totp(admin_user)
    _login(client)

    response = client.post("/admin/mfa/", {"action": "start"})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert TOTPDevice.objects.filter(user=admin_user).count() == 1


def test_a_recovery_code_signs_in_to_the_admin_once(client, admin_user):
    _login(client)
    client.post("/admin/mfa/", {"action": "start"})
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    codes = client.post("/admin/mfa/", {"action": "confirm", "code": totp_code(device)}).context[
        "recovery_codes"
    ]
    client.logout()

    _login(client, device, codes[0])
    assert client.get("/admin/").status_code == 200
    client.logout()
    backoff_elapsed(admin_user)
    _login(client, device, codes[0])
    assert client.get("/admin/").status_code == 302


def test_a_super_admin_resets_another_persons_second_factor_in_the_admin(
    client, admin_user, make_user
):
    device = enrol_totp(admin_user)
    _login(client, device, totp_code(device))
    other = make_user("deputy", Role.SUPER_ADMIN)
    enrol_totp(other)
    generation = other.token_generation

    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_two_factor", "_selected_action": [other.pk]},
    )

    assert response.status_code == 302
    other.refresh_from_db()
    assert not TOTPDevice.objects.filter(user=other).exists()
    assert other.token_generation == generation + 1
    assert AuthEvent.objects.filter(user=other, kind=AuthEvent.Kind.MFA_RESET).exists()


def test_a_reset_ends_the_persons_admin_sessions(client, admin_user, make_user):
    other = make_user("deputy", Role.SUPER_ADMIN)
    deputy_device = enrol_totp(other)
    deputy = Client()
    deputy.post(
        "/admin/login/?next=/admin/",
        {"username": "deputy", "password": PASSWORD, "otp_token": totp_code(deputy_device)},
    )
    assert deputy.get("/admin/").status_code == 200

    mfa.mfa_reset(request=RequestFactory().post("/"), actor=admin_user, user=other)

    assert deputy.get("/admin/").status_code == 302
