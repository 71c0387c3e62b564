"""PAdES signature of the receipt PDF by the collecting organisation, and its verification (pyHanko).

The signed XML is the legal record; the PDF is its rendering, and its own signature lets whoever holds the file check
it with any PDF reader. Profile: PAdES baseline B-B (SubFilter ETSI.CAdES.detached, signing-certificate-v2 attribute,
RSA-SHA256), no timestamp authority and no revocation data (nothing is fetched: no network at run time).

The signature field is **invisible**: the receipt layout (fpdf2) already prints who signed and when, in the
receipt's own font; a visible pyHanko stamp would need a second Vietnamese font path and coordinates shared with the
template. Readers list the signature in their signature panel either way.

pyHanko pulls in aiohttp and asn1crypto and costs about half a second to import: it is imported on first use, and
only by this module. Build one ``ReceiptPdfSigner`` per container: it parses the key once (pyHanko's SimpleSigner
would parse it again for every signature, which is most of the signing time).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

FIELD_NAME = "BienLaiDienTu"
REASON = "Biên lai điện tử"
DEFAULT_LOCATION = "Việt Nam"
# Room (bytes) for the CMS object beyond the certificates it embeds: signed attributes, signature value, structure.
# A fixed reservation spares pyHanko a trial signature per PDF to measure the size.
_CMS_OVERHEAD = 2048


class ReceiptPdfSignatureError(Exception):
    """The PDF cannot be signed or its signature does not hold. ``code``: KEY_INVALID, PDF_INVALID, NOT_SIGNED,
    SIGNATURE_INVALID (changed or broken), CERTIFICATE_UNTRUSTED, NOT_WHOLE_FILE (bytes added after signing)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class VerifiedPdf:
    signer_name: str  # common name of the signing certificate
    signer_subject: str  # human-readable subject
    signing_time: datetime | None  # as reported by the signer (/M); no timestamp authority vouches for it
    intact: bool
    valid: bool
    trusted: bool


class ReceiptPdfSigner:
    """Signs receipt PDFs with one key and certificate (plus optional intermediate CA certificates)."""

    def __init__(self, key_pem: str | bytes, cert_pem: str | bytes, chain_pem: str | bytes | None = None,
                 location: str | None = None) -> None:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        pyhanko = _pyhanko()
        try:
            key = load_pem_private_key(_bytes(key_pem), password=None)
            key_info = pyhanko.load_key(_bytes(key_pem), passphrase=None)
            cert = pyhanko.load_certs(_bytes(cert_pem))[0]
            chain = pyhanko.load_certs(_bytes(chain_pem)) if chain_pem else []
        except (ValueError, TypeError, IndexError):
            raise ReceiptPdfSignatureError("KEY_INVALID", "the signing key or certificate cannot be loaded") from None
        if not _same_public_key(key, cert):
            raise ReceiptPdfSignatureError("KEY_INVALID", "the certificate is not the signing key's")
        self.signer_name = _common_name(cert)
        self._signer = _signer_class()(key, signing_cert=cert, signing_key=key_info,
                                       cert_registry=pyhanko.SimpleCertificateStore.from_certs(chain))
        self._meta = pyhanko.signers.PdfSignatureMetadata(
            field_name=FIELD_NAME, reason=REASON, location=location or _locality(cert) or DEFAULT_LOCATION,
            name=self.signer_name, md_algorithm="sha256", subfilter=pyhanko.fields.SigSeedSubFilter.PADES,
        )
        # pyHanko counts the reservation in hex digits, two per byte.
        self._bytes_reserved = 2 * (_CMS_OVERHEAD + sum(len(c.dump()) for c in (cert, *chain)))

    def __repr__(self) -> str:  # never show the key
        return f"ReceiptPdfSigner(signer={self.signer_name!r})"

    def sign(self, pdf_bytes: bytes) -> bytes:
        """The PDF with one invisible PAdES B-B signature over the whole file (an incremental update)."""
        pyhanko = _pyhanko()
        try:
            writer = pyhanko.IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=True)
        except pyhanko.errors:
            raise ReceiptPdfSignatureError("PDF_INVALID", "the PDF cannot be read") from None
        field = pyhanko.fields.SigFieldSpec(sig_field_name=FIELD_NAME)  # no box: invisible
        signer = pyhanko.signers.PdfSigner(self._meta, signer=self._signer, new_field_spec=field)
        return signer.sign_pdf(writer, bytes_reserved=self._bytes_reserved).getvalue()


def verify_receipt_pdf(pdf_bytes: bytes, trusted_ca_pem: str | bytes, at: datetime | None = None) -> VerifiedPdf:
    """Check the one signature of a receipt PDF: intact, cryptographically valid, trusted via ``trusted_ca_pem``,
    covering the whole file. The chain is checked at the signer-reported time (or ``at``), so a receipt stays
    verifiable after its certificate expires. Raises ReceiptPdfSignatureError otherwise."""
    pyhanko = _pyhanko()
    try:
        reader = pyhanko.PdfFileReader(io.BytesIO(pdf_bytes), strict=True)
        signatures = reader.embedded_signatures
    except pyhanko.errors:
        raise ReceiptPdfSignatureError("PDF_INVALID", "the PDF cannot be read") from None
    if len(signatures) != 1:
        raise ReceiptPdfSignatureError("NOT_SIGNED", "the PDF must carry exactly one signature")
    signature = signatures[0]
    context = pyhanko.ValidationContext(
        trust_roots=pyhanko.load_certs(_bytes(trusted_ca_pem)), allow_fetching=False,
        moment=at or signature.self_reported_timestamp,
    )
    try:
        status = pyhanko.validate_pdf_signature(signature, context)
    except pyhanko.errors:
        raise ReceiptPdfSignatureError("SIGNATURE_INVALID", "the signature cannot be validated") from None
    return _checked(status, pyhanko)


def _checked(status: Any, pyhanko: Any) -> VerifiedPdf:
    if not (status.intact and status.valid):
        raise ReceiptPdfSignatureError("SIGNATURE_INVALID", "the signed bytes were changed or the signature is broken")
    if not status.trusted:
        raise ReceiptPdfSignatureError("CERTIFICATE_UNTRUSTED", "the certificate does not chain to a trusted CA")
    if status.coverage != pyhanko.SignatureCoverageLevel.ENTIRE_FILE:
        raise ReceiptPdfSignatureError("NOT_WHOLE_FILE", "content was added after the signature")
    return VerifiedPdf(
        signer_name=_common_name(status.signing_cert), signer_subject=status.signing_cert.subject.human_friendly,
        signing_time=status.signer_reported_dt, intact=status.intact, valid=status.valid, trusted=status.trusted,
    )


def _same_public_key(key: Any, cert: Any) -> bool:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    certified = x509.load_der_x509_certificate(cert.dump()).public_key()
    return key.public_key().public_bytes(*spki) == certified.public_bytes(*spki)


def _common_name(cert: Any) -> str:
    return str(cert.subject.native.get("common_name") or cert.subject.human_friendly)


def _locality(cert: Any) -> str | None:
    return cert.subject.native.get("locality_name")


def _bytes(value: str | bytes) -> bytes:
    return value.encode("ascii") if isinstance(value, str) else value


@cache
def _signer_class() -> type:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign.signers import SimpleSigner

    hash_for = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}

    class _LoadedKeySigner(SimpleSigner):
        """SimpleSigner with the key parsed once; RSA PKCS#1 v1.5 only (what the PAdES profile above uses)."""

        def __init__(self, pyca_key: Any, **kwargs: Any) -> None:
            super().__init__(prefer_pss=False, **kwargs)
            self._pyca_key = pyca_key

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            return self._pyca_key.sign(data, PKCS1v15(), hash_for[digest_algorithm]())

    return _LoadedKeySigner


@cache
def _pyhanko() -> Any:
    """pyHanko's pieces, imported once, on first use."""
    from types import SimpleNamespace

    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return SimpleNamespace(
        load_certs=lambda data: list(load_certs_from_pemder_data(data)), load_key=load_private_key_from_pemder_data,
        IncrementalPdfFileWriter=IncrementalPdfFileWriter, PdfFileReader=PdfFileReader, fields=fields, signers=signers,
        validate_pdf_signature=validate_pdf_signature, SignatureCoverageLevel=SignatureCoverageLevel,
        ValidationContext=ValidationContext, SimpleCertificateStore=SimpleCertificateStore,
        # what pyHanko raises for unreadable or malformed input: its PdfError, or a ValueError/KeyError subclass
        errors=(PdfError, ValueError, KeyError, TypeError),
    )
