"""One Content-Security-Policy, from django-csp: nonces instead of 'unsafe-inline', reports kept."""

import json
import logging
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def policy_of(response) -> str:
    return response["Content-Security-Policy"]


def test_swagger_page_styles_carry_the_responses_nonce():
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", policy_of(response)).group(1)
    assert f'<style nonce="{nonce}">' in response.content.decode()
    assert "<script>" not in response.content.decode()  # the init script is a separate file
    assert "unsafe-inline" not in policy_of(response)


def test_two_responses_get_two_nonces():
    first, second = Client().get("/api/docs/"), Client().get("/api/docs/")

    nonce = re.compile(r"'nonce-([^']+)'")
    assert nonce.search(policy_of(first)).group(1) != nonce.search(policy_of(second)).group(1)


def test_admin_login_page_has_no_inline_script_or_style_attribute():
    response = Client().get("/admin/login/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "unsafe-inline" not in policy_of(response)
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
    assert not re.search(r"\sstyle=\"", html)
    assert not re.search(r"<style(?![^>]*nonce)", html)


@pytest.mark.parametrize(
    "content_type, body",
    [
        (
            "application/csp-report",
            {
                "csp-report": {
                    "document-uri": "https://ecar.example.tn/admin/?q=sami@example.tn",
                    "effective-directive": "style-src-elem",
                    "blocked-uri": "https://cdn.example.com/x.css?user=sami@example.tn",
                    "script-sample": "sami@example.tn",
                }
            },
        ),
        (
            "application/reports+json",
            [
                {
                    "type": "csp-violation",
                    "body": {
                        "documentURL": "https://ecar.example.tn/api/docs/?email=sami@example.tn",
                        "effectiveDirective": "script-src-elem",
                        "blockedURL": "inline",
                        "sample": "sami@example.tn",
                    },
                }
            ],
        ),
    ],
)
def test_violation_reports_are_logged_without_personal_data(caplog, content_type, body):
    caplog.set_level(logging.INFO)

    response = Client().post("/api/csp-report/", json.dumps(body), content_type=content_type)

    assert response.status_code == 204
    logged = [r.getMessage() for r in caplog.records if r.name == "ecar.csp"]
    assert len(logged) == 1
    assert "sami" not in logged[0] and "?" not in logged[0]
    assert "src-elem" in logged[0]
    assert all(r.levelno < logging.ERROR for r in caplog.records)


def test_a_garbage_report_is_accepted_and_ignored(caplog):
    response = Client().post("/api/csp-report/", "[1, 2]", content_type="application/json")

    assert response.status_code == 204
    assert not [r for r in caplog.records if r.name == "ecar.csp"]


def test_json_responses_carry_the_settings_policy_and_its_exclusions(settings):
    from csp.utils import build_policy

    response = Client().get("/api/health/")
    assert policy_of(response) == build_policy()
    assert "nonce" not in policy_of(response)

    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "EXCLUDE_URL_PREFIXES": ["/api/health/"],
    }
    assert "Content-Security-Policy" not in Client().get("/api/health/")
    assert "Content-Security-Policy" in Client().get("/api/protected/")
