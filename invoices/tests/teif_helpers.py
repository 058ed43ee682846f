"""A test certification authority and the garage's signing certificate, as a PKCS#12 file."""

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PASSPHRASE = b"test passphrase: not a secret"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ECAR test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("ECAR test CA"))
        .issuer_name(_name("ECAR test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_signing_cert(
    ca: tuple[rsa.RSAPrivateKey, x509.Certificate], *, days: int = 365, expired: bool = False
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    ca_key, ca_cert = ca
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    start = (
        now - datetime.timedelta(days=days + 2) if expired else now - datetime.timedelta(hours=1)
    )
    end = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Garage Essalem SARL"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def write_pkcs12(folder: Path, key, cert, ca_cert, *, passphrase: bytes = PASSPHRASE):
    """(PKCS#12 path, passphrase file path) in `folder`."""
    p12 = folder / "signing.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"ecar", key, cert, [ca_cert], serialization.BestAvailableEncryption(passphrase)
        )
    )
    secret = folder / "passphrase"
    secret.write_bytes(passphrase + b"\n")
    return p12, secret
