"""The admin site in a real Chromium (Playwright): second factor, allow-list, decrypted data, CSP.

The browser is Debian's Chromium (`.ci/run` installs it): Playwright's own browser builds cannot be
downloaded here. Screenshots of the main pages go to var/artifacts/browser/ (git-ignored).
"""

import base64
import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import RequestFactory
from django_otp.oath import TOTP

from accounts import mfa
from accounts.models import Role
from accounts.services import user_create
from accounts.tests.factories import PASSWORD
from accounts.tests.mfa_helpers import enrol_totp, totp_code
from garage.tests.factories import CustomerFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "artifacts" / "browser"
# Reported by the page itself: Chromium also logs it, but an event is explicit.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls made between
    # browser steps are synchronous and safe (the live server runs in its own thread).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _is_problem(message) -> bool:
    """A console error, except the browser's own /favicon.ico probe (no page asks for it)."""
    return message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab on the live server; `page.problems` collects console errors."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda msg: _is_problem(msg) and tab.problems.append(msg.text))
    tab.on("pageerror", lambda error: tab.problems.append(str(error)))
    yield tab
    context.close()


def screenshot(tab, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def sign_in(tab, username: str, code: str = "") -> None:
    tab.goto("/admin/login/?next=/admin/")
    tab.fill("#id_username", username)
    tab.fill("#id_password", PASSWORD)
    if code:
        tab.fill("#id_otp_token", code)
    tab.click("input[type=submit]")
    tab.wait_for_load_state()


def code_from_uri(uri: str) -> str:
    """What an authenticator app that scanned `uri` shows now."""
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, 30, 0, 6, 0)
    totp.time = time.time()
    return f"{totp.token():06d}"


@pytest.fixture
def chief(db):
    return user_create(username="chief", password=PASSWORD, role=Role.SUPER_ADMIN)


def test_sign_in_with_password_and_authenticator_code(page, chief):
    device = enrol_totp(chief)

    page.goto("/admin/login/")
    screenshot(page, "01-login")
    sign_in(page, "chief", totp_code(device))

    assert page.url.endswith("/admin/")
    assert page.locator("#site-name").is_visible()
    assert page.get_by_role("link", name="Users").is_visible()
    screenshot(page, "02-admin-index")
    assert page.problems == []


def test_login_form_has_one_numeric_code_field(page, chief):
    enrol_totp(chief)
    page.goto("/admin/login/")

    code_input = page.locator("#id_otp_token")

    assert page.locator("select").count() == 0
    assert code_input.get_attribute("inputmode") == "numeric"
    assert code_input.get_attribute("autocomplete") == "one-time-code"


def test_enrol_an_authenticator_from_the_admin(page, chief):
    sign_in(page, "chief")  # no authenticator yet: the password leads to enrolment only
    assert page.url.endswith("/admin/mfa/")
    page.goto("/admin/accounts/user/")
    assert page.url.endswith("/admin/mfa/")  # the rest of the admin sends it back there

    page.click("#mfa-start-form input[type=submit]")
    uri = page.locator("#totp-uri").inner_text()
    qr = page.locator("#totp-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    assert uri.startswith("otpauth://totp/ECAR:chief?")
    screenshot(page, "03-enrol-qr")
    page.fill("#id_code", code_from_uri(uri))
    page.click("#mfa-confirm-form input[type=submit]")

    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "04-recovery-codes")
    page.click("#continue")
    assert page.url.endswith("/admin/")
    assert page.get_by_role("link", name="Users").is_visible()
    assert page.problems == []


def test_sign_in_with_a_recovery_code(page, chief):
    request = RequestFactory().post("/")
    device = mfa.totp_enrol_start(user=chief, verified=False)
    _, codes = mfa.totp_enrol_confirm(request=request, user=chief, code=totp_code(device))

    sign_in(page, "chief", codes[3])

    assert page.url.endswith("/admin/")
    assert page.get_by_role("link", name="Users").is_visible()
    page.goto("/admin/mfa/")
    assert "Recovery codes left: 9" in page.locator("#content-main").inner_text()
    screenshot(page, "05-two-factor-status")


def test_the_admin_is_refused_outside_the_allow_list(page, chief, settings):
    settings.ADMIN_ALLOWED_NETWORKS = ["10.8.0.0/24"]

    response = page.goto("/admin/login/")

    assert response.status == 403
    assert "not reachable from this address" in page.content()
    assert page.locator("#id_password").count() == 0


def test_a_customer_is_shown_decrypted_to_the_super_admin(page, chief):
    customer = CustomerFactory(
        full_name="Skander Ben Salah", email="skander@example.tn", phone="+21620111222"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT full_name FROM garage_customer WHERE id = %s", [customer.pk])
        assert cursor.fetchone()[0].startswith("e1:")
    sign_in(page, "chief", totp_code(enrol_totp(chief)))

    page.goto(f"/admin/garage/customer/{customer.pk}/change/")

    assert page.input_value("#id_full_name") == "Skander Ben Salah"
    assert page.input_value("#id_email") == "skander@example.tn"
    assert page.input_value("#id_phone") == "+21620111222"
    screenshot(page, "06-customer")
    assert page.problems == []


def test_no_csp_violation_or_console_error_on_the_admin_and_api_docs(page, chief):
    person = user_create(
        username="someone",
        password=PASSWORD,
        contact={"full_name": "Ines Gharbi", "email": "ines@example.tn"},
    )
    CustomerFactory()
    sign_in(page, "chief", totp_code(enrol_totp(chief)))
    pages = {
        "07-users": "/admin/accounts/user/",
        "08-user": f"/admin/accounts/user/{person.pk}/change/",
        "09-customers": "/admin/garage/customer/",
        "10-auth-events": "/admin/accounts/authevent/",
        "11-service-orders": "/admin/garage/serviceorder/",
        "12-invoices": "/admin/invoices/invoice/",
    }

    for name, path in pages.items():
        response = page.goto(path)
        assert response.status == 200, path
        assert "content-security-policy" in response.headers
        screenshot(page, name)
    page.goto(pages["08-user"])
    assert page.input_value("#id_profile-0-full_name") == "Ines Gharbi"
    docs = page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .information-container")
    page.wait_for_selector("text=/api/login/mfa/")
    screenshot(page, "13-api-docs")

    assert docs.status == 200
    assert "content-security-policy" in docs.headers
    assert page.problems == []
