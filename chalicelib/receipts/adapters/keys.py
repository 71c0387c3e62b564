"""The collecting organisation's signing keys, from Secrets Manager: one ReceiptSigner (XMLDSig) and one
ReceiptPdfSigner (PAdES) per container, and the trusted CA certificates the verification checks against.

Secret (``lfo/<stage>/receipt-signing``; locally made by ``chalicelib.local.pki.ensure_local_pki`` on `make run`):
    {"ca_cert_pem": "...", "signing_key_pem": "...", "signing_cert_pem": "...",
     "previous_ca_cert_pems": ["..."]?}   (CAs of earlier keys: receipts signed before a renewal still verify)
The secret is read once per container (refreshed after ``max_age_s``: a rotated key is picked up without a deploy).
Keys are parsed once per secret value; building them costs a few milliseconds, signing an XML about 2 ms.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from chalicelib.receipts.domain import Receipt
from chalicelib.receipts.ports import SigningUnavailableError

XML_KEYS = ("template_symbol", "series", "receipt_number", "receipt_id", "issued_at", "collecting_unit_name",
            "collecting_unit_tax_code", "collecting_unit_code", "payer_name", "payer_tax_code", "payer_address",
            "dossier_code", "notice_number", "reference_number", "tax_payment_id", "bank_code", "bank_name",
            "bank_txn_ref", "paid_at", "amount_vnd", "amount_in_words")
RELATED_KEYS = ("relation", "template_symbol", "series", "receipt_number", "issued_at", "note")


def receipt_xml_fields(receipt: Receipt) -> dict[str, Any]:
    """The receipt as ``receipts.xml`` reads it (only what the legal document carries)."""
    fields = {k: getattr(receipt, k) for k in XML_KEYS}
    fields["items"] = [{k: item[k] for k in ("sub_item_code", "description", "amount_vnd")} for item in receipt.items]
    if receipt.related_receipt:
        fields["related_receipt"] = {k: receipt.related_receipt.get(k) for k in RELATED_KEYS}
    return fields


class _Keys:
    def __init__(self, secret: dict) -> None:
        from chalicelib.receipts.pades import ReceiptPdfSigner
        from chalicelib.receipts.signing import ReceiptSigner

        self.xml = ReceiptSigner(secret["signing_key_pem"], secret["signing_cert_pem"])
        self.pdf = ReceiptPdfSigner(secret["signing_key_pem"], secret["signing_cert_pem"])
        self.trusted = "".join([secret["ca_cert_pem"], *secret.get("previous_ca_cert_pems", [])])
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        self.key = load_pem_private_key(secret["signing_key_pem"].encode("ascii"), password=None)


class SecretReceiptKeys:
    """ReceiptSigning over the signing secret (``load`` returns its JSON; Powertools caches it)."""

    def __init__(self, load: Callable[[], dict]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._cached: tuple[str, _Keys] | None = None

    def _keys(self) -> _Keys:
        try:
            secret = self._load()
            fingerprint = secret["signing_cert_pem"] + secret["ca_cert_pem"]
        except Exception as exc:  # noqa: BLE001 - any failure to read the secret: nothing can be signed now
            raise SigningUnavailableError(type(exc).__name__) from None
        with self._lock:
            if self._cached is None or self._cached[0] != fingerprint:
                self._cached = (fingerprint, _Keys(secret))
            return self._cached[1]

    @property
    def signer_name(self) -> str:
        return self._keys().xml.signer_name

    def sign_xml(self, receipt: Receipt) -> bytes:
        from datetime import datetime

        from chalicelib.receipts.xml import build_receipt_xml

        keys = self._keys()
        return keys.xml.sign(build_receipt_xml(receipt_xml_fields(receipt)), datetime.fromisoformat(receipt.issued_at))

    def sign_detached(self, data: bytes) -> dict[str, str]:
        """RSA-SHA256 (PKCS#1 v1.5) over ``data`` with the signing key, and the certificate to check it with."""
        import base64

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
        from cryptography.hazmat.primitives.serialization import Encoding

        keys = self._keys()
        signature = keys.key.sign(data, PKCS1v15(), hashes.SHA256())
        return {"alg": "RS256", "signature": base64.b64encode(signature).decode("ascii"),
                "x509_certificate": base64.b64encode(keys.xml.certificate.public_bytes(Encoding.DER)).decode("ascii")}

    def verify_xml(self, document: bytes):
        from chalicelib.receipts.signing import verify_receipt_xml

        return verify_receipt_xml(document, self._keys().trusted)

    def sign_pdf(self, pdf: bytes) -> bytes:
        return self._keys().pdf.sign(pdf)

    def verify_pdf(self, pdf: bytes):
        from chalicelib.receipts.pades import verify_receipt_pdf

        return verify_receipt_pdf(pdf, self._keys().trusted)


def secret_loader(secret_name: str, region: str, max_age_s: int) -> Callable[[], dict]:
    """Powertools' cached read of the signing secret (JSON)."""
    provider: list[Any] = []

    def load() -> dict:
        if not provider:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            from chalicelib.aws.clients import client

            provider.append(SecretsProvider(boto3_client=client("secretsmanager", region)))
        return provider[0].get(secret_name, transform="json", max_age=max_age_s)

    return load
