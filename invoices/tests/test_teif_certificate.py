"""The signing certificate: loaded from PKCS#12 with its passphrase file; production refuses to
start with e-invoicing on and no usable certificate; the system check warns before expiry."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from config.tests.test_settings import production_env_fixture, run  # noqa: F401 - fixture
from invoices.checks import teif_certificate_check
from invoices.teif.certificate import CertificateError, load_identity
from invoices.tests.teif_helpers import PASSPHRASE, make_signing_cert, write_pkcs12


def test_the_identity_loads_with_its_chain(teif_identity, teif_ca):
    cert, p12, secret = teif_identity

    identity = load_identity(str(p12), str(secret))

    assert identity.certificate == cert
    assert identity.chain == (teif_ca[1],)


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("no file", "cannot be read"),
        ("wrong passphrase", "passphrase opens"),
        ("expired", "expired on"),
        ("unset", "is not set"),
    ],
)
def test_unusable_certificates_are_refused_without_revealing_the_passphrase(
    problem, message, teif_ca, tmp_path
):
    key, cert = make_signing_cert(teif_ca, expired=problem == "expired")
    p12, secret = write_pkcs12(tmp_path, key, cert, teif_ca[1])
    if problem == "wrong passphrase":
        secret.write_bytes(b"another passphrase")
    path = {"no file": str(tmp_path / "missing.p12"), "unset": ""}.get(problem, str(p12))

    with pytest.raises(CertificateError) as caught:
        load_identity(path, str(secret))

    assert message in str(caught.value)
    assert PASSPHRASE.decode() not in str(caught.value)
    assert "another passphrase" not in str(caught.value)


def test_the_system_check_fails_on_an_expired_certificate_and_warns_before(
    settings, teif_ca, tmp_path
):
    key, cert = make_signing_cert(teif_ca, expired=True)
    p12, secret = write_pkcs12(tmp_path, key, cert, teif_ca[1])
    settings.TEIF_ENABLED = True
    settings.TEIF_SIGNING_CERT, settings.TEIF_SIGNING_PASSPHRASE_FILE = str(p12), str(secret)

    assert [m.id for m in teif_certificate_check()] == ["invoices.E001"]
    with pytest.raises(SystemCheckError):
        call_command("check")

    key, cert = make_signing_cert(teif_ca, days=10)
    write_pkcs12(tmp_path, key, cert, teif_ca[1])
    assert [m.id for m in teif_certificate_check()] == ["invoices.W001"]


def test_production_refuses_to_start_with_e_invoicing_and_an_expired_certificate(
    production_env,
    teif_ca,
    tmp_path,
):
    key, cert = make_signing_cert(teif_ca, expired=True)
    p12, secret = write_pkcs12(tmp_path, key, cert, teif_ca[1])
    env = {
        **production_env,
        "TEIF_ENABLED": "true",
        "TEIF_SIGNING_CERT": str(p12),
        "TEIF_SIGNING_PASSPHRASE_FILE": str(secret),
    }

    refused = run("import django; django.setup()", env)
    missing = run("import django; django.setup()", {**env, "TEIF_SIGNING_CERT": ""})

    for result in (refused, missing):
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr and "TEIF_ENABLED" in result.stderr
        assert PASSPHRASE.decode() not in result.stderr
    assert "expired" in refused.stderr


def test_production_starts_with_a_valid_certificate(production_env, teif_identity):
    _cert, p12, secret = teif_identity
    env = {
        **production_env,
        "TEIF_ENABLED": "true",
        "TEIF_SIGNING_CERT": str(p12),
        "TEIF_SIGNING_PASSPHRASE_FILE": str(secret),
    }

    result = run("import django; django.setup(); print('started')", env)

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout
