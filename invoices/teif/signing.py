"""XAdES-B enveloped signature of TEIF documents (signxml), and its verification.

What TTN's signature policy for the supplier's signature asks and how it is met:
- canonicalisation: exclusive C14N (http://www.w3.org/2001/10/xml-exc-c14n#), for SignedInfo
  and as an explicit transform of every reference. signxml adds no transform to the references
  of SignedProperties and KeyInfo, so a verifier would fall back to inclusive C14N and fail
  (signxml's own verifier does): `_TeifSigner` writes the transform.
- signature RSA-SHA256 (ECDSA-SHA256 for an EC key), digests SHA-256;
- XAdES SignedProperties with SigningTime and SigningCertificateV2 (SHA-256 digest of the
  certificate), the certificate chain in KeyInfo.
- the document reference (URI="") uses the enveloped-signature transform. TTN's own example
  uses XPath filters that also leave out RefTtnVal, the block TTN appends when it accepts the
  invoice; `verify_teif` removes TTN's additions before checking, which gives the same result.
The signature policy identifier (urn:2.16.788.1.2.1) needs the digest of TTN's policy document,
which TTN publishes to registered companies; it is not emitted.
"""

import base64
import copy

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.xades import XAdESSignatureConfiguration, XAdESSigner, XAdESVerifier

from invoices.teif.certificate import SigningIdentity

EXCLUSIVE_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
DS = "http://www.w3.org/2000/09/xmldsig#"


class TeifSignatureError(Exception):
    """The signature of a TEIF file does not verify (altered file, other key, malformed)."""


class _TeifSigner(XAdESSigner):
    def _add_reference_to_signed_info(self, sig_root, node_to_reference, **attrs):
        super()._add_reference_to_signed_info(sig_root, node_to_reference, **attrs)
        reference = self._find(sig_root, "SignedInfo").findall(f"{{{DS}}}Reference")[-1]
        transforms = etree.Element(f"{{{DS}}}Transforms")
        etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=EXCLUSIVE_C14N.value)
        reference.insert(0, transforms)


def sign_teif(root: etree._Element, identity: SigningIdentity) -> bytes:
    """The signed file: `root` with the supplier's enveloped XAdES-B signature, UTF-8 bytes."""
    method = (
        SignatureMethod.ECDSA_SHA256
        if isinstance(identity.key, ec.EllipticCurvePrivateKey)
        else SignatureMethod.RSA_SHA256
    )
    signer = _TeifSigner(
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=EXCLUSIVE_C14N,
    )
    signed = signer.sign(
        copy.deepcopy(root),
        key=identity.key,
        cert=[identity.certificate, *identity.chain],
        always_add_key_value=False,
    )
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def supplier_part(data: bytes) -> bytes:
    """The file without what TTN appends on acceptance (RefTtnVal and TTN's own signature)."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    for ref in root.findall("RefTtnVal"):
        for later in list(ref.itersiblings()):
            root.remove(later)
        root.remove(ref)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def signer_certificate(data: bytes) -> x509.Certificate:
    """The certificate in the supplier's signature of a signed TEIF file."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    text = root.findtext(
        f"{{{DS}}}Signature/{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"
    )
    if not text:
        raise TeifSignatureError("The file carries no signing certificate.")
    return x509.load_der_x509_certificate(base64.b64decode(text))


def verify_teif(data: bytes, *, certificate: x509.Certificate) -> etree._Element:
    """The signed TEIF tree, after checking the supplier's signature with `certificate`."""
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    try:
        result = XAdESVerifier().verify(
            supplier_part(data),
            x509_cert=pem,
            expect_config=XAdESSignatureConfiguration(expect_references=3),
        )
    except (InvalidSignature, InvalidInput, etree.XMLSyntaxError) as exc:
        raise TeifSignatureError(str(exc)) from exc
    return result[0].signed_xml
