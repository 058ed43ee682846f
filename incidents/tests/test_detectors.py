"""Each detector fires on its pattern and stays quiet on ordinary use (run_detectors)."""

import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import AuthEvent, Role, User
from incidents.models import DetectorCursor, SecurityAlert

pytestmark = pytest.mark.django_db
PASSWORD = "Garage#Pass2026"
TUNIS = ZoneInfo("Africa/Tunis")


def login(username, password=PASSWORD, ip="127.0.0.1"):
    return APIClient(REMOTE_ADDR=ip).post(
        "/api/login/", {"username": username, "password": password}
    )


def bearer(access, ip="127.0.0.1"):
    client = APIClient(REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def alerts(detector):
    return list(SecurityAlert.objects.filter(detector=detector))


# --- brute force and credential stuffing --------------------------------------------------------


def test_brute_force_on_one_account_fires(make_customer, run_detectors):
    victim = make_customer("victim")
    codes = {
        login(victim.username, "Wrong#Pass1", ip="198.51.100.5").status_code for _ in range(10)
    }
    assert codes == {401, 429}  # throttled after five: those attempts count as well

    run_detectors()

    [alert] = alerts("brute_force")
    assert alert.evidence["attempts"] == 10
    assert alert.evidence["user_ids"] == [victim.pk]
    assert alert.evidence["ips"] == ["198.51.100.5"]
    assert victim.username not in str(alert.evidence)  # only the keyed digest


def test_a_few_typos_before_a_login_are_quiet(make_customer, run_detectors):
    user = make_customer("typo")
    for _ in range(3):
        login(user.username, "Wrong#Pass1")
    assert login(user.username).status_code == 200

    run_detectors()

    assert not alerts("brute_force") and not alerts("credential_stuffing")


def test_credential_stuffing_from_one_ip_fires(run_detectors, db):
    for n in range(8):
        login(f"leaked{n}", "Leaked#Pass1", ip="203.0.113.40")

    run_detectors()

    [alert] = alerts("credential_stuffing")
    assert alert.evidence["ip"] == "203.0.113.40"
    assert alert.evidence["accounts"] == 8
    assert not alerts("brute_force")


def test_failures_of_different_people_from_different_ips_are_quiet(run_detectors, db):
    for n in range(8):
        login(f"someone{n}", "Wrong#Pass1", ip=f"192.0.2.{n + 1}")

    run_detectors()

    assert not alerts("credential_stuffing")


# --- refresh token reuse ------------------------------------------------------------------------


def test_a_reused_refresh_token_fires(make_customer, run_detectors):
    user = make_customer("reuse")
    first = login(user.username).json()["refresh"]
    client = APIClient()
    assert client.post("/api/token/refresh/", {"refresh": first}).status_code == 200
    reused = client.post("/api/token/refresh/", {"refresh": first})
    assert reused.json()["code"] == "token_reused"

    run_detectors()

    [alert] = alerts("refresh_reuse")
    assert alert.evidence["user_id"] == user.pk
    assert alert.severity == "high"


def test_normal_rotation_is_quiet(make_customer, run_detectors):
    user = make_customer("rotate")
    refresh = login(user.username).json()["refresh"]
    for _ in range(3):
        refresh = APIClient().post("/api/token/refresh/", {"refresh": refresh}).json()["refresh"]

    run_detectors()

    assert not alerts("refresh_reuse")


# --- staff reading many people's records ---------------------------------------------------------


def test_staff_reading_many_customers_fires(settings, make_customer, admin_user, run_detectors):
    settings.DETECT_MASS_READ_PEOPLE = 4
    customers = [make_customer(f"read{n}") for n in range(4)]
    staff = bearer(login(admin_user.username).json()["access"])
    for customer in customers:
        assert staff.get(f"/api/customers/{customer.customer.pk}/").status_code == 200

    run_detectors()

    [alert] = alerts("staff_mass_read")
    assert alert.evidence["actor_id"] == admin_user.pk
    assert alert.evidence["people"] == 4
    assert alert.evidence["actions"] == {"customer.read": 4}


def test_staff_reading_a_few_customers_often_is_quiet(
    settings, make_customer, admin_user, run_detectors
):
    settings.DETECT_MASS_READ_PEOPLE = 4
    customers = [make_customer(f"few{n}") for n in range(3)]
    staff = bearer(login(admin_user.username).json()["access"])
    for customer in customers * 3:
        staff.get(f"/api/customers/{customer.customer.pk}/")

    run_detectors()

    assert not alerts("staff_mass_read")


# --- exports and erasures -----------------------------------------------------------------------


def test_an_export_burst_fires(settings, make_customer, admin_user, run_detectors):
    settings.DETECT_EXPORT_BURST = 3
    people = [make_customer(f"exp{n}") for n in range(3)]
    staff = bearer(login(admin_user.username).json()["access"])
    for person in people:
        response = staff.get(f"/api/users/{person.pk}/export/")
        assert response.status_code == 200
        b"".join(response.streaming_content)

    run_detectors()

    [alert] = alerts("export_burst")
    assert alert.evidence["exports"] == 3 and alert.evidence["people"] == 3


def test_an_erasure_burst_fires(settings, make_customer, admin_user, run_detectors):
    settings.DETECT_ERASURE_BURST = 3
    people = [make_customer(f"era{n}") for n in range(3)]
    staff = bearer(login(admin_user.username).json()["access"])
    for person in people:
        assert staff.post(f"/api/users/{person.pk}/erase/").status_code == 200

    run_detectors()

    [alert] = alerts("erasure_burst")
    assert alert.evidence["erasures"] == 3
    assert alert.evidence["by_role"] == {"super_admin": 3}


def test_a_few_exports_and_erasures_are_quiet(settings, make_customer, admin_user, run_detectors):
    settings.DETECT_EXPORT_BURST = settings.DETECT_ERASURE_BURST = 3
    people = [make_customer(f"calm{n}") for n in range(2)]
    staff = bearer(login(admin_user.username).json()["access"])
    for person in people:
        b"".join(staff.get(f"/api/users/{person.pk}/export/").streaming_content)
        assert staff.post(f"/api/users/{person.pk}/erase/").status_code == 200

    run_detectors()

    assert not alerts("export_burst") and not alerts("erasure_burst")


# --- admin from a new network, long inactivity --------------------------------------------------


def test_admin_login_from_a_new_network_fires(admin_user, run_detectors):
    assert login(admin_user.username, ip="192.0.2.10").status_code == 200
    assert login(admin_user.username, ip="198.51.100.7").status_code == 200

    run_detectors()

    [alert] = alerts("admin_new_network")
    assert alert.evidence["network"] == "198.51.100.0/24"
    assert alert.evidence["user_id"] == admin_user.pk


def test_admin_login_from_a_known_network_is_quiet(admin_user, make_customer, run_detectors):
    login(admin_user.username, ip="192.0.2.10")
    login(admin_user.username, ip="192.0.2.99")
    customer = make_customer("roamer")
    login(customer.username, ip="192.0.2.10")
    login(customer.username, ip="198.51.100.7")

    run_detectors()

    assert not alerts("admin_new_network")


def test_login_after_long_inactivity_fires(make_customer, run_detectors):
    user = make_customer("sleeper")
    AuthEvent.objects.create(
        kind=AuthEvent.Kind.LOGIN_SUCCEEDED,
        user=user,
        ip="192.0.2.3",
        created_at=datetime.now(TUNIS) - timedelta(days=200),
    )
    assert login(user.username).status_code == 200

    run_detectors()

    [alert] = alerts("inactive_login")
    assert alert.evidence["days_inactive"] >= 199
    assert alert.evidence["first_login"] is False


def test_first_login_long_after_the_account_was_made_fires(make_customer, run_detectors):
    user = make_customer("dormant")
    User.objects.filter(pk=user.pk).update(date_joined=datetime.now(TUNIS) - timedelta(days=365))
    login(user.username)

    run_detectors()

    [alert] = alerts("inactive_login")
    assert alert.evidence["first_login"] is True


def test_regular_logins_are_quiet(make_customer, run_detectors):
    user = make_customer("regular")
    AuthEvent.objects.create(
        kind=AuthEvent.Kind.LOGIN_SUCCEEDED,
        user=user,
        ip="192.0.2.3",
        created_at=datetime.now(TUNIS) - timedelta(days=10),
    )
    login(user.username)

    run_detectors()

    assert not alerts("inactive_login")


# --- staff outside opening hours ------------------------------------------------------------------


def _last_login_at(user, local: datetime) -> None:
    event = AuthEvent.objects.filter(user=user, kind=AuthEvent.Kind.LOGIN_SUCCEEDED).latest("id")
    AuthEvent.objects.filter(pk=event.pk).update(created_at=local)


def _sunday_night() -> datetime:
    day = datetime.now(TUNIS).date() - timedelta(days=7)
    while day.weekday() != 6:
        day += timedelta(days=1)
    return datetime.combine(day, time(3, 0), tzinfo=TUNIS)


def test_staff_activity_at_night_fires(make_user, run_detectors):
    tech = make_user("nighttech", Role.TECHNICIAN)
    login(tech.username)
    _last_login_at(tech, _sunday_night())

    run_detectors()

    [alert] = alerts("staff_off_hours")
    assert alert.evidence["user_id"] == tech.pk
    assert alert.evidence["local_date"] == _sunday_night().date().isoformat()


def test_staff_in_opening_hours_and_customers_at_night_are_quiet(
    make_user, make_customer, run_detectors
):
    tech = make_user("daytech", Role.TECHNICIAN)
    customer = make_customer("nightowl")
    login(tech.username)
    login(customer.username)
    tuesday = _sunday_night() + timedelta(days=2, hours=7)  # Tuesday 10:00
    _last_login_at(tech, tuesday)
    _last_login_at(customer, _sunday_night())

    run_detectors()

    assert not alerts("staff_off_hours")


# --- passes ---------------------------------------------------------------------------------------


def test_a_pass_reads_only_what_is_new(make_customer, run_detectors):
    victim = make_customer("again")
    for _ in range(10):
        login(victim.username, "Wrong#Pass1")
    run_detectors()
    last = DetectorCursor.objects.get(source="auth_events").last_id

    out = run_detectors()

    assert "auth_events=0" in out
    assert DetectorCursor.objects.get(source="auth_events").last_id == last
    login(victim.username, "Wrong#Pass1")
    run_detectors()
    [alert] = alerts("brute_force")
    assert alert.occurrences == 2  # the same burst goes on: one alert, seen again


def test_seed_demo_traffic_is_quiet(settings, run_detectors, verify_audit):
    # The traffic below happens at the test's wall-clock time: opening hours are checked apart.
    settings.DETECT_STAFF_WEEKDAYS = list(range(7))
    settings.DETECT_STAFF_HOURS = "00:00-23:59:59.999999"
    call_command("seed_demo", stdout=io.StringIO())
    demo = "Demo-Garage#2026"
    for n in range(1, 6):
        tokens = login(f"customer{n:02d}", demo).json()
        client = bearer(tokens["access"])
        assert client.get("/api/vehicles/").status_code == 200
        APIClient().post("/api/token/refresh/", {"refresh": tokens["refresh"]})
    login("customer07", "Wrong#Pass1")
    login("customer07", demo)
    admin = bearer(login("admin", demo).json()["access"])
    login("admin", demo)
    for customer in admin.get("/api/customers/").json()["results"][:5]:
        assert admin.get(f"/api/customers/{customer['id']}/").status_code == 200
    tech = bearer(login("tech1", demo).json()["access"])
    assert tech.get("/api/service-orders/").status_code == 200

    run_detectors()

    assert list(SecurityAlert.objects.values_list("detector", flat=True)) == []
    assert verify_audit()[0]
