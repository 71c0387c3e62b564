"""The receipt as a PDF: rendered (fpdf2, ~50 ms) and PAdES-signed (pyHanko, ~20 ms) on first need - a download, or
the province's attachment API - then kept in the documents bucket (``receipts/<receipt id>.pdf``, SSE), so neither
cost is ever on the bank callback's path and a receipt's file is the same bytes every time it is fetched.

The signed XML is the legal record; the PDF is its rendering, carrying the QR code of the public verification page
with the receipt's series, number and verification secret. Receipts issued under the replaced rules (no signed
XML) are rendered as before, without a PDF signature. Two first fetches at once may both render; both files are
valid and the last write is kept.
"""
from __future__ import annotations

import logging
from functools import cache
from typing import Any, Callable

from chalicelib.receipts.domain import Receipt

log = logging.getLogger(__name__)
SSE = "AES256"


def document_fields(receipt: Receipt, verify_base_url: str, signer_name: str | None) -> dict[str, Any]:
    """What the PDF prints: the receipt's data, its verification URL and secret, and who signed it."""
    fields = receipt.model_dump(exclude={"sequence", "delivery_state"})
    if receipt.verification_secret:
        from chalicelib.receipts.qr import verification_url

        fields["verification_url"] = verification_url(verify_base_url, receipt.series, receipt.receipt_number,
                                                      receipt.verification_secret)
    if signer_name:
        fields["signer_name"] = signer_name
    return {k: v for k, v in fields.items() if v is not None}


@cache
def s3_client(region: str, endpoint_url: str) -> Any:
    import boto3

    return boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint_url or None)


class ReceiptPdfMaker:
    """Render and (for a signed receipt) PAdES-sign: what the store keeps."""

    def __init__(self, render: Callable[[dict], bytes], signing: Any, verify_base_url: str) -> None:
        self._render, self._signing, self._base = render, signing, verify_base_url

    def make(self, receipt: Receipt) -> bytes:
        signer = self._signing.signer_name if receipt.signed else None
        pdf = self._render(document_fields(receipt, self._base, signer))
        return self._signing.sign_pdf(pdf) if receipt.signed else pdf


class S3ReceiptDocuments:
    def __init__(self, region: str, bucket: str, endpoint_url: str, maker: ReceiptPdfMaker) -> None:
        self._region, self._bucket, self._endpoint, self._maker = region, bucket, endpoint_url, maker

    def _s3(self) -> Any:
        return s3_client(self._region, self._endpoint)

    def _key(self, receipt: Receipt) -> str:
        return f"receipts/{receipt.receipt_id}.pdf"

    def pdf(self, receipt: Receipt) -> bytes:
        s3 = self._s3()
        try:
            return s3.get_object(Bucket=self._bucket, Key=self._key(receipt))["Body"].read()
        except s3.exceptions.NoSuchKey:
            pass
        pdf = self._maker.make(receipt)
        try:
            s3.put_object(Bucket=self._bucket, Key=self._key(receipt), Body=pdf, ContentType="application/pdf",
                          ServerSideEncryption=SSE)
        except Exception:  # noqa: BLE001 - kept next time; the caller still gets its (valid) file now
            log.warning("receipt pdf not stored", extra={"receipt_id": receipt.receipt_id})
        return pdf


class InMemoryReceiptDocuments:
    """The same contract without a bucket (tests, the bench): made once, kept in memory."""

    def __init__(self, maker: ReceiptPdfMaker) -> None:
        self._maker, self.files = maker, {}

    def pdf(self, receipt: Receipt) -> bytes:
        if receipt.receipt_id not in self.files:
            self.files[receipt.receipt_id] = self._maker.make(receipt)
        return self.files[receipt.receipt_id]
