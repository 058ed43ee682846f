"""The signing identity: certificate and private key from a PKCS#12 file and its passphrase file.

Used by the production settings at startup (no Django import here) and by the signer. The
passphrase is read from a file (e.g. a systemd credential) and never logged or put in a message.
"""

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12


class CertificateError(Exception):
    """The signing certificate cannot be used (missing, unreadable, no key, expired)."""


@dataclass(frozen=True)
class SigningIdentity:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def not_after(self) -> datetime.datetime:
        return self.certificate.not_valid_after_utc


def load_identity(
    cert_path: str, passphrase_path: str, *, now: datetime.datetime | None = None
) -> SigningIdentity:
    """The certificate, key and chain of the PKCS#12 file, refused unless valid at `now`."""
    if not cert_path:
        raise CertificateError("TEIF_SIGNING_CERT is not set.")
    try:
        data = Path(cert_path).read_bytes()
    except OSError as exc:
        raise CertificateError(f"TEIF_SIGNING_CERT cannot be read ({exc.strerror}).") from None
    passphrase = None
    if passphrase_path:
        try:
            passphrase = Path(passphrase_path).read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise CertificateError(
                f"TEIF_SIGNING_PASSPHRASE_FILE cannot be read ({exc.strerror})."
            ) from None
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(data, passphrase or None)
    except ValueError:
        raise CertificateError(
            "TEIF_SIGNING_CERT is not a PKCS#12 file this passphrase opens."
        ) from None
    if key is None or certificate is None:
        raise CertificateError("TEIF_SIGNING_CERT holds no certificate with its private key.")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError("TEIF_SIGNING_CERT: only RSA and EC keys can sign XAdES here.")
    now = now or datetime.datetime.now(datetime.UTC)
    if now < certificate.not_valid_before_utc:
        raise CertificateError("The TEIF signing certificate is not valid yet.")
    if now > certificate.not_valid_after_utc:
        raise CertificateError(
            f"The TEIF signing certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}."
        )
    return SigningIdentity(key=key, certificate=certificate, chain=tuple(chain))
