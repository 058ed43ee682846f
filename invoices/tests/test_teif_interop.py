"""The XAdES signature checked by an independent verifier: xmlsec1 (libxmlsec1 on OpenSSL, the
library behind many of the verifiers TTN's partners use), with the chain up to the test CA."""

import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from invoices.teif.certificate import load_identity
from invoices.teif.signing import sign_teif
from invoices.tests.test_teif_format import GUIDE_EXAMPLE

XMLSEC1 = shutil.which("xmlsec1")
if XMLSEC1 is None and os.environ.get("CI") == "true":
    pytest.fail("xmlsec1 is required in CI (apt-get install xmlsec1)", pytrace=False)
pytestmark = pytest.mark.skipif(XMLSEC1 is None, reason="xmlsec1 is not installed")


def xmlsec_verify(path, ca_pem) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed arguments, files we wrote
        [
            XMLSEC1,
            "--verify",
            "--trusted-pem",
            str(ca_pem),
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            "--id-attr:Id",
            "http://www.w3.org/2000/09/xmldsig#:KeyInfo",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_xmlsec1_verifies_the_signature_and_refuses_a_change(teif_identity, teif_ca, tmp_path):
    _cert, p12, secret = teif_identity
    signed = sign_teif(
        etree.fromstring(GUIDE_EXAMPLE.encode()), load_identity(str(p12), str(secret))
    )
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(teif_ca[1].public_bytes(serialization.Encoding.PEM))
    good, bad = tmp_path / "signed.xml", tmp_path / "altered.xml"
    good.write_bytes(signed)
    bad.write_bytes(signed.replace(b">2.540<", b">2.541<"))

    verified, refused = xmlsec_verify(good, ca_pem), xmlsec_verify(bad, ca_pem)

    assert verified.returncode == 0, verified.stderr
    assert "SignedInfo References (ok/all): 3/3" in verified.stderr + verified.stdout
    assert refused.returncode != 0
    assert "data and digest do not match" in refused.stderr
