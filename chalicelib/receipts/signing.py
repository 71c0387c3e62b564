"""XMLDSig signature of the e-receipt document by the collecting organisation, and its verification.

Profile (tax authority XML format, decision 1271/QĐ-CT; DOMAIN.md "Receipts"): an enveloped ``Signature`` in
BLai/DSCKS/TCThu, in the XMLDSig namespace as the default namespace (as in the tax authority's own documents), with

- RSA-SHA256 over SHA-256 digests of two references: ``#data`` (the DLBLai element, enveloped-signature +
  exclusive C14N transforms) and ``#SigningTime`` (the Object, exclusive C14N only: an enveloped-signature
  transform there would remove the Object itself, since it lies inside the Signature);
- ``KeyInfo/X509Data`` with ``X509SubjectName`` (RFC 4514) and ``X509Certificate`` (base64 DER, one line);
- ``Object Id="SigningTime"/SignatureProperties/SignatureProperty/SigningTime``, GMT+7 without offset.

Canonicalisation is **exclusive** C14N 1.0 (without comments), for SignedInfo and both references. Why: (1) the
signed bytes of DLBLai and of the Object then do not depend on namespace declarations of whatever envelope the
receipt is later wrapped in (sent to the tax authority or a province inside another XML message); (2) the lxml
6.1 / libxml2 2.14 build we ship produces a wrong inclusive C14N for descendants of an element that declares a
default namespace (it writes ``xmlns=""`` on grandchildren), which an independent verifier (xmlsec1) rejects;
exclusive C14N is right there, and tests check the result with xmlsec1. .NET SignedXml and xmlsec support it.

Canonicalisation and signature maths are signxml's; this module only fixes the profile, with two small
overrides of signxml internals (pinned signxml 5.2.0; the tests break if they stop working). signxml and lxml
are imported on first use.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from chalicelib.receipts import xml as receipt_xml
from chalicelib.receipts.xml import GMT7, ReceiptXmlError

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SIGNATURE_ID = "TCThuSig"
SIGNING_TIME_ID = "SigningTime"
SIGNATURE_PARENT = "DSCKS/TCThu"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


class ReceiptSignatureError(Exception):
    """The receipt signature cannot be made or does not verify. ``code`` says why; the message names no secret.

    Codes: KEY_INVALID, CERTIFICATE_INVALID, CA_INVALID (the trusted CAs given), DOCUMENT_INVALID,
    SIGNATURE_MALFORMED, SIGNING_TIME_MISSING, DIGEST_MISMATCH (the content was changed), SIGNATURE_INVALID,
    CERTIFICATE_UNTRUSTED."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class VerifiedReceipt:
    receipt: dict  # the signed data only, as parse_receipt_xml gives it
    signing_time: datetime  # aware, GMT+7
    signer_subject: str  # RFC 4514 subject of the signing certificate
    signer_name: str  # its common name
    certificate_serial: str  # hex
    certificate_sha256: str  # hex fingerprint of the DER certificate


class ReceiptSigner:
    """Signs receipt documents with one key and certificate; build one per container and reuse it."""

    def __init__(self, key_pem: str | bytes, cert_pem: str | bytes) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            self._key = load_pem_private_key(_bytes(key_pem), password=None)
        except (ValueError, TypeError):
            raise ReceiptSignatureError("KEY_INVALID", "the signing key cannot be loaded") from None
        try:
            self.certificate = x509.load_pem_x509_certificate(_bytes(cert_pem))
        except ValueError:
            raise ReceiptSignatureError("CERTIFICATE_INVALID", "the signing certificate cannot be loaded") from None
        _check_key_matches(self._key, self.certificate)
        self.subject_name = self.certificate.subject.rfc4514_string()
        self.signer_name = common_name(self.certificate)

    def __repr__(self) -> str:  # never show the key
        return f"ReceiptSigner(subject={self.subject_name!r})"

    def sign(self, xml_bytes: bytes, signing_time: datetime) -> bytes:
        """The signed document for an unsigned one from ``build_receipt_xml``."""
        if signing_time.tzinfo is None:
            raise ReceiptSignatureError("DOCUMENT_INVALID", "signing_time must carry a UTC offset")
        root = _unsigned_root(xml_bytes)
        _placeholder(root, signing_time)
        signer = _signer_class()(method=_signxml().methods.enveloped, signature_algorithm=RSA_SHA256,
                                 digest_algorithm=SHA256, c14n_algorithm=EXC_C14N)
        signer.namespaces = {None: DS_NS}
        references = [_signxml().SignatureReference(URI="#" + receipt_xml.DATA_ID),
                      _signxml().SignatureReference(URI="#" + SIGNING_TIME_ID)]
        signed = signer.sign(root, key=self._key, cert=[self.certificate], reference_uri=references,
                             key_info=self._key_info())
        signature = signed.find(f"{SIGNATURE_PARENT}/{_ds('Signature')}")  # signxml signs a copy of ``root``
        signature.append(signature.find(_ds("Object")))  # schema order: SignedInfo, SignatureValue, KeyInfo, Object
        signature.set("Id", SIGNATURE_ID)  # the SignatureProperty's Target; signxml drops the placeholder's Id
        return receipt_xml.serialise(signed)

    def _key_info(self) -> Any:
        from cryptography.hazmat.primitives.serialization import Encoding

        etree = receipt_xml._etree()
        key_info = etree.Element(_ds("KeyInfo"), nsmap={None: DS_NS})
        x509_data = etree.SubElement(key_info, _ds("X509Data"))
        etree.SubElement(x509_data, _ds("X509SubjectName")).text = self.subject_name
        der = self.certificate.public_bytes(Encoding.DER)
        etree.SubElement(x509_data, _ds("X509Certificate")).text = base64.b64encode(der).decode("ascii")
        return key_info


def sign_receipt_xml(xml_bytes: bytes, key_pem: str | bytes, cert_pem: str | bytes, signing_time: datetime) -> bytes:
    """One-off signing; in a Lambda keep a ``ReceiptSigner`` instead (it parses the key once)."""
    return ReceiptSigner(key_pem, cert_pem).sign(xml_bytes, signing_time)


def verify_receipt_xml(signed_bytes: bytes, trusted_ca_pem: str | bytes, at: datetime | None = None) -> VerifiedReceipt:
    """Verify a signed receipt against the trusted CA(s) and return only what the signature covers.

    The certificate chain is checked at the signing time the signature carries (so receipts stay verifiable after
    the certificate expires), or at ``at`` when given. Raises ReceiptSignatureError on any change to the data or the
    signing time, a certificate that does not chain to ``trusted_ca_pem``, or a signature outside the profile.
    """
    ca_pem = _trusted_cas(trusted_ca_pem)
    root = _parse(signed_bytes)
    claimed_time = _check_profile(root)
    results = _verify_with_signxml(root, ca_pem, at or claimed_time)
    signed_time = _signed_signing_time(results[1].signed_data)
    if signed_time != claimed_time:  # cannot happen when the digest matched; kept as a guard for the time used
        raise ReceiptSignatureError("SIGNATURE_MALFORMED", "the signing time read is not the signed one")
    try:
        receipt = receipt_xml.parse_receipt_xml(results[0].signed_data)
    except ReceiptXmlError as exc:
        raise ReceiptSignatureError("DOCUMENT_INVALID", str(exc)) from None
    return _verified(receipt, signed_time, root)


def common_name(certificate: Any) -> str:
    from cryptography.x509.oid import NameOID

    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


# --- signing helpers --------------------------------------------------------------------------


def _check_key_matches(key: Any, certificate: Any) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ReceiptSignatureError("KEY_INVALID", "the signing key must be RSA of 2048 bits or more")
    if key.public_key().public_numbers() != certificate.public_key().public_numbers():
        raise ReceiptSignatureError("CERTIFICATE_INVALID", "the certificate is not the signing key's")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise ReceiptSignatureError("CERTIFICATE_INVALID", "the certificate has no key usage") from None
    if not (usage.digital_signature and usage.content_commitment):
        raise ReceiptSignatureError("CERTIFICATE_INVALID", "the certificate is not for digital signatures")


def _unsigned_root(xml_bytes: bytes) -> Any:
    """The parsed document, once its data is known to be a canonical receipt and its signature slot is empty."""
    try:
        receipt_xml.parse_receipt_xml(xml_bytes)
        root = receipt_xml.parse_document(xml_bytes)
    except ReceiptXmlError as exc:
        raise ReceiptSignatureError("DOCUMENT_INVALID", str(exc)) from None
    slot = root.findall(SIGNATURE_PARENT)
    if root.tag != "BLai" or len(slot) != 1 or len(slot[0]) or [c.tag for c in root] != ["DLBLai", "DSCKS"]:
        raise ReceiptSignatureError("DOCUMENT_INVALID", "the document is not an unsigned e-receipt")
    return root


def _placeholder(root: Any, signing_time: datetime) -> None:
    """signxml fills a Signature element with Id="placeholder"; the Object it must also cover goes in first."""
    etree = receipt_xml._etree()
    placeholder = etree.SubElement(root.find(SIGNATURE_PARENT), _ds("Signature"), Id="placeholder",
                                   nsmap={None: DS_NS})
    obj = etree.SubElement(placeholder, _ds("Object"), Id=SIGNING_TIME_ID)
    prop = etree.SubElement(etree.SubElement(obj, _ds("SignatureProperties")), _ds("SignatureProperty"),
                            Target="#" + SIGNATURE_ID)
    etree.SubElement(prop, _ds("SigningTime")).text = signing_time.astimezone(GMT7).strftime(_TIME_FORMAT)


@cache
def _signer_class() -> type:
    signxml = _signxml()

    class _ReceiptXMLSigner(signxml.XMLSigner):
        def _ds_tag(self, tag: str) -> str:
            # signxml 5.2 makes un-namespaced elements when ds is the default namespace; they must be ds elements.
            return _ds(tag)

        def _build_transforms_for_reference(self, *, transforms_node, reference, exclude_c14n_transform_element=False):
            if reference.URI == "#" + SIGNING_TIME_ID:
                receipt_xml._etree().SubElement(transforms_node, _ds("Transform"), Algorithm=EXC_C14N)
                return
            super()._build_transforms_for_reference(transforms_node=transforms_node, reference=reference,
                                                    exclude_c14n_transform_element=exclude_c14n_transform_element)

    return _ReceiptXMLSigner


# --- verification helpers ---------------------------------------------------------------------


def _trusted_cas(trusted_ca_pem: str | bytes) -> bytes:
    from cryptography import x509

    try:
        x509.load_pem_x509_certificates(_bytes(trusted_ca_pem))
    except (ValueError, TypeError, UnicodeError):
        raise ReceiptSignatureError("CA_INVALID", "the trusted CA certificates cannot be loaded") from None
    return _bytes(trusted_ca_pem)


def _parse(signed_bytes: bytes) -> Any:
    try:
        return receipt_xml.parse_document(signed_bytes)
    except ReceiptXmlError as exc:
        raise ReceiptSignatureError("SIGNATURE_MALFORMED", str(exc)) from None


def _check_profile(root: Any) -> datetime:
    """Exactly the structure ``ReceiptSigner`` writes (signxml's own schema check cannot be used: the tax authority
    format puts SigningTime in the XMLDSig namespace, which the XMLDSig schema does not allow). Returns the claimed
    signing time."""
    malformed = ReceiptSignatureError("SIGNATURE_MALFORMED", "the signature is not in the e-receipt profile")
    slots = root.findall(SIGNATURE_PARENT)
    if root.tag != "BLai" or [c.tag for c in root] != ["DLBLai", "DSCKS"] or len(slots) != 1:
        raise malformed
    if [c.tag for c in root.find("DSCKS")] != ["TCThu"] or [c.tag for c in slots[0]] != [_ds("Signature")]:
        raise malformed
    signature = slots[0][0]
    tags = [c.tag for c in signature]
    if tags[:3] != [_ds("SignedInfo"), _ds("SignatureValue"), _ds("KeyInfo")] or not _signed_info_ok(signature[0]):
        raise malformed
    if [c.tag for c in signature[2]] != [_ds("X509Data")] or [c.tag for c in signature[2][0]] != [
            _ds("X509SubjectName"), _ds("X509Certificate")]:
        raise malformed
    path = f"{_ds('Object')}/{_ds('SignatureProperties')}/{_ds('SignatureProperty')}/{_ds('SigningTime')}"
    times = signature.findall(path)
    if not times:
        raise ReceiptSignatureError("SIGNING_TIME_MISSING", "the signature carries no SigningTime")
    if tags[3:] != [_ds("Object")] or len(times) != 1 or signature[3].get("Id") != SIGNING_TIME_ID:
        raise malformed
    return _signing_time(times[0].text)


def _signed_info_ok(signed_info: Any) -> bool:
    children = list(signed_info)
    algorithms = [c.get("Algorithm") for c in children[:2]]
    references = [c.get("URI") for c in children[2:]]
    tags = [c.tag for c in children]
    return (tags == [_ds("CanonicalizationMethod"), _ds("SignatureMethod"), _ds("Reference"), _ds("Reference")]
            and algorithms == [EXC_C14N, RSA_SHA256]
            and references == ["#" + receipt_xml.DATA_ID, "#" + SIGNING_TIME_ID]
            and all(len(c) == 0 for c in children[:2]))


def _signing_time(text: str | None) -> datetime:
    try:
        return datetime.strptime(text or "", _TIME_FORMAT).replace(tzinfo=GMT7)
    except ValueError:
        raise ReceiptSignatureError("SIGNING_TIME_MISSING", "the SigningTime is not a GMT+7 time") from None


def _signed_signing_time(object_c14n: bytes) -> datetime:
    obj = receipt_xml._etree().fromstring(object_c14n)
    times = obj.findall(f"{_ds('SignatureProperties')}/{_ds('SignatureProperty')}/{_ds('SigningTime')}")
    if len(times) != 1:
        raise ReceiptSignatureError("SIGNING_TIME_MISSING", "the signed Object carries no single SigningTime")
    return _signing_time(times[0].text)


def _verify_with_signxml(root: Any, ca_pem: bytes, at: datetime) -> list:
    signxml = _signxml()
    config = signxml.SignatureConfiguration(
        location=f"./{SIGNATURE_PARENT}/", expect_references=2,
        signature_methods=frozenset({signxml.SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({signxml.DigestAlgorithm.SHA256}), verification_time=at,
    )
    try:
        return _verifier_class()(ca_pem).verify(root, expect_config=config, validate_schema=False)
    except signxml.exceptions.InvalidDigest:
        raise ReceiptSignatureError("DIGEST_MISMATCH", "the signed content was changed") from None
    except signxml.exceptions.InvalidCertificate:
        raise ReceiptSignatureError("CERTIFICATE_UNTRUSTED", "the certificate does not chain to a trusted CA") from None
    except signxml.exceptions.InvalidSignature:
        raise ReceiptSignatureError("SIGNATURE_INVALID", "the signature value does not verify") from None
    except (signxml.exceptions.SignXMLException, ValueError):
        raise ReceiptSignatureError("SIGNATURE_MALFORMED", "the signature cannot be processed") from None


@cache
def _verifier_class() -> type:
    signxml = _signxml()
    from cryptography import x509
    from signxml.util import X509CertChainVerifier

    class _PemChainVerifier(X509CertChainVerifier):
        @property
        def store(self) -> Any:  # the trusted CAs come as PEM text from a secret, not as a file
            return x509.verification.Store(x509.load_pem_x509_certificates(self.ca_pem_file))

    class _ReceiptXMLVerifier(signxml.XMLVerifier):
        def __init__(self, ca_pem: bytes) -> None:
            super().__init__()
            self._ca_pem = ca_pem

        def get_cert_chain_verifier(self, ca_pem_file, ee_policy, ca_policy):
            return _PemChainVerifier(ca_pem_file=self._ca_pem, verification_time=self._get_cert_verification_time(),
                                     ee_policy=ee_policy, ca_policy=ca_policy)

    return _ReceiptXMLVerifier


def _verified(receipt: dict, signing_time: datetime, root: Any) -> VerifiedReceipt:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    x509_data = root.find(f"{SIGNATURE_PARENT}/{_ds('Signature')}/{_ds('KeyInfo')}/{_ds('X509Data')}")
    certificate = x509.load_der_x509_certificate(base64.b64decode(x509_data[1].text))
    subject = certificate.subject.rfc4514_string()
    if x509_data[0].text != subject:  # the name shown to people must be the certified one
        raise ReceiptSignatureError("SIGNATURE_MALFORMED", "X509SubjectName is not the certificate's subject")
    return VerifiedReceipt(
        receipt=receipt, signing_time=signing_time, signer_subject=subject, signer_name=common_name(certificate),
        certificate_serial=format(certificate.serial_number, "x"),
        certificate_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
    )


def _ds(tag: str) -> str:
    return f"{{{DS_NS}}}{tag}"


def _bytes(value: str | bytes) -> bytes:
    return value.encode("ascii") if isinstance(value, str) else value


@cache
def _signxml() -> Any:
    import signxml
    import signxml.exceptions

    return signxml
