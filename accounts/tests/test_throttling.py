"""Login throttling: per attempted username and per resolved client IP, shared across workers."""

import threading

import django_ratelimit.core
import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import AuthEvent
from accounts.services import username_digest

LOGIN = "/api/login/"
WRONG = "Not-The-Password#1"


@pytest.fixture(autouse=True)
def _pinned_windows(monkeypatch):
    """Keep each counter in one window for the whole test: a window ending mid-test resets it."""
    real = django_ratelimit.core._get_window
    pinned = {}

    def window(value, period):
        return pinned.setdefault((value, period), real(value, period))

    monkeypatch.setattr(django_ratelimit.core, "_get_window", window)


def attempt(client, username, password=WRONG, **meta):
    return client.post(LOGIN, {"username": username, "password": password}, **meta)


def assert_throttled(response):
    assert response.status_code == 429, response.content
    assert response.json() == {"detail": "Too many attempts. Try again later.", "code": "throttled"}
    retry_after = response["Retry-After"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= 600


@pytest.mark.django_db
class TestPerUsername:
    def test_sixth_attempt_is_throttled_even_with_the_right_password(
        self, api_client, customer, password
    ):
        for n in range(5):
            response = attempt(api_client, customer.username, REMOTE_ADDR=f"198.51.100.{n + 1}")
            assert response.status_code == 401, response.content

        response = attempt(api_client, customer.username, password, REMOTE_ADDR="198.51.100.77")

        assert_throttled(response)
        assert "access" not in response.json()
        event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOGIN_THROTTLED)
        assert event.ip == "198.51.100.77"
        assert event.username_digest == username_digest(customer.username)
        assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_SUCCEEDED).count() == 0

    def test_the_username_bucket_ignores_case_and_surrounding_spaces(
        self, api_client, customer, password
    ):
        spellings = ["customer1", "CUSTOMER1", " Customer1", "customer1 ", "cUsToMeR1"]
        for n, spelling in enumerate(spellings):
            response = attempt(api_client, spelling, REMOTE_ADDR=f"198.51.100.{n + 1}")
            assert response.status_code == 401, response.content

        assert_throttled(attempt(api_client, "customer1", password, REMOTE_ADDR="198.51.100.9"))

    def test_another_username_still_logs_in(self, api_client, customer, technician, password):
        for n in range(6):
            attempt(api_client, customer.username, REMOTE_ADDR=f"198.51.100.{n + 1}")

        response = attempt(api_client, technician.username, password, REMOTE_ADDR="198.51.100.1")

        assert response.status_code == 200, response.content
        assert response.json()["user"]["username"] == technician.username

    def test_unknown_usernames_are_throttled_like_known_ones(self, api_client):
        for n in range(5):
            response = attempt(api_client, "ghost", REMOTE_ADDR=f"198.51.100.{n + 1}")
            assert response.status_code == 401, response.content

        assert_throttled(attempt(api_client, "ghost", REMOTE_ADDR="198.51.100.9"))


@pytest.mark.django_db
class TestPerIP:
    def test_twenty_first_attempt_from_one_ip_is_throttled(self, api_client, customer, password):
        for n in range(20):
            response = attempt(api_client, f"user{n}", REMOTE_ADDR="203.0.113.5")
            assert response.status_code == 401, (n, response.content)

        # A username never tried before, with its right password: the IP limit still applies.
        response = attempt(api_client, customer.username, password, REMOTE_ADDR="203.0.113.5")

        assert_throttled(response)
        assert AuthEvent.objects.filter(
            kind=AuthEvent.Kind.LOGIN_THROTTLED, ip="203.0.113.5"
        ).exists()

    def test_another_ip_is_not_affected(self, api_client, customer, password):
        for n in range(21):
            attempt(api_client, f"user{n}", REMOTE_ADDR="203.0.113.5")

        response = attempt(api_client, customer.username, password, REMOTE_ADDR="203.0.113.6")

        assert response.status_code == 200, response.content

    def test_spoofed_forwarded_for_from_an_untrusted_peer_does_not_escape(
        self, api_client, settings
    ):
        settings.TRUSTED_PROXIES = []
        for n in range(20):
            response = attempt(
                api_client,
                f"user{n}",
                REMOTE_ADDR="203.0.113.5",
                HTTP_X_FORWARDED_FOR=f"192.0.2.{n + 1}",
            )
            assert response.status_code == 401, (n, response.content)

        response = attempt(
            api_client, "user99", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.200"
        )

        assert_throttled(response)
        assert set(AuthEvent.objects.values_list("ip", flat=True)) == {"203.0.113.5"}


@pytest.mark.django_db
class TestBehindTrustedProxy:
    @pytest.fixture(autouse=True)
    def _proxy(self, settings):
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    def test_the_bucket_follows_the_real_client(self, api_client, customer, password):
        for n in range(20):
            response = attempt(
                api_client, f"user{n}", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.1"
            )
            assert response.status_code == 401, (n, response.content)

        throttled = attempt(
            api_client, "user99", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.1"
        )
        other_client = attempt(
            api_client,
            customer.username,
            password,
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR="198.51.100.2",
        )

        assert_throttled(throttled)
        assert other_client.status_code == 200, other_client.content
        assert AuthEvent.objects.get(kind=AuthEvent.Kind.LOGIN_THROTTLED).ip == "198.51.100.1"
        assert AuthEvent.objects.get(kind=AuthEvent.Kind.LOGIN_SUCCEEDED).ip == "198.51.100.2"

    def test_prepended_fake_hops_do_not_escape(self, api_client):
        for n in range(20):
            response = attempt(
                api_client,
                f"user{n}",
                REMOTE_ADDR="10.0.0.5",
                HTTP_X_FORWARDED_FOR=f"1.2.3.{n + 1}, 203.0.113.9",
            )
            assert response.status_code == 401, (n, response.content)

        response = attempt(
            api_client,
            "user99",
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR="10.9.9.9, 1.2.3.200, 203.0.113.9",
        )

        assert_throttled(response)
        assert set(AuthEvent.objects.values_list("ip", flat=True)) == {"203.0.113.9"}

    def test_requests_from_the_proxy_itself_without_header_share_its_bucket(self, api_client):
        for n in range(20):
            attempt(api_client, f"user{n}", REMOTE_ADDR="10.0.0.5")

        assert_throttled(attempt(api_client, "user99", REMOTE_ADDR="10.0.0.5"))


def _uses_redis() -> bool:
    return django_settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


@pytest.mark.skipif(
    not _uses_redis(),
    reason="needs the shared Redis cache (set REDIS_URL): a local-memory cache does not show "
    "whether counters hold across workers",
)
@pytest.mark.django_db(transaction=True)
def test_parallel_attempts_never_exceed_the_username_limit(make_user, settings):
    settings.LOGIN_RATE_PER_USERNAME = "5/10m"
    settings.LOGIN_RATE_PER_IP = "100/10m"
    user = make_user("target")
    threads_count = 12
    barrier = threading.Barrier(threads_count)
    statuses = []
    errors = []
    lock = threading.Lock()

    def worker(n):
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            response = attempt(client, user.username, REMOTE_ADDR=f"198.51.100.{n + 1}")
            with lock:
                statuses.append(response.status_code)
        except Exception as exc:  # noqa: BLE001 - an exception in a thread is otherwise lost
            with lock:
                errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert sorted(statuses) == [401] * 5 + [429] * 7
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_FAILED).count() == 5
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_THROTTLED).count() == 7
