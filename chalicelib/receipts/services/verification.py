"""The public verification of a receipt (Decree 254/2026: whoever holds a receipt can check it).

Two ways in, neither needing an account, neither answering anything personal (no payer name, tax code, ID number,
phone or address; no bank reference): the answer is whether the receipt is genuine, who issued and signed it,
its number and its amount.

- by the code printed with the QR (series, number and the short verification secret): the stored signed XML is
  verified again (signature, certificate chain at the signing time) and compared with the stored data;
- by the document itself (the signed XML, or the PDF): its signature is verified against the trusted CAs and, for
  the XML, its signed data must be exactly the stored receipt's. A changed receipt is refused
  (``422 RECEIPT_NOT_GENUINE`` with the reason).
"""
from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.core.errors import AppError, not_found
from chalicelib.core.parsing import parse
from chalicelib.receipts.domain import Receipt, verification_key
from chalicelib.receipts.ports import ReceiptsContext
from chalicelib.receipts.qr import SECRET_ALPHABET, SECRET_LENGTH

MAX_DOCUMENT_CHARS = 200_000
PUBLIC_FIELDS = ("template_symbol", "series", "receipt_number", "issued_at", "amount_vnd", "amount_in_words",
                 "currency", "collecting_unit_name", "collecting_unit_tax_code")


class VerifyQuery(BaseModel):
    """What the QR code carries (ký hiệu, số, mã tra cứu), or what is typed from the paper."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    kh: str = Field(pattern=r"^[0-9]{2}T[A-Z]{2}$", description="Series (ký hiệu), e.g. 26TAA.")
    so: str = Field(pattern=r"^[0-9]{1,8}$", description="Receipt number (số), leading zeros optional.")
    ma: str = Field(pattern=f"^[{SECRET_ALPHABET}]{{{SECRET_LENGTH}}}$",
                    description="The verification secret printed with the QR code (mã tra cứu).")


class VerifyDocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    __rules__ = ("DOCUMENT_REQUIRED",)  # exactly one of two fields
    signed_xml: str | None = Field(default=None, max_length=MAX_DOCUMENT_CHARS,
                                   description="The receipt's signed XML, as downloaded.")
    pdf_base64: str | None = Field(default=None, max_length=MAX_DOCUMENT_CHARS,
                                   description="The receipt's PDF, base64.")

    @model_validator(mode="after")
    def _one(self) -> "VerifyDocumentIn":
        from chalicelib.core.validation import RuleError

        if (self.signed_xml is None) == (self.pdf_base64 is None):
            raise RuleError("DOCUMENT_REQUIRED", "Gửi đúng một trong hai: signed_xml hoặc pdf_base64.")
        return self


def _not_found() -> AppError:
    return not_found("RECEIPT_NOT_FOUND", "Không tìm thấy biên lai với ký hiệu, số và mã tra cứu đã nhập.")


def not_genuine(reason: str) -> AppError:
    return AppError("RECEIPT_NOT_GENUINE", "Biên lai không hợp lệ: chữ ký số không đúng hoặc nội dung đã bị thay "
                    "đổi so với biên lai đã phát hành.", 422, "Biên lai không hợp lệ", extra={"reason": reason})


def _answer(svc: ReceiptsContext, receipt: Receipt, verified) -> dict:
    out = {k: getattr(receipt, k) for k in PUBLIC_FIELDS}
    out.update(genuine=True, status="valid", signed_by=verified.signer_name,
               signed_at=verified.signing_time.isoformat())
    if receipt.related_receipt:
        r = receipt.related_receipt
        out["related_receipt"] = {"relation": r["relation"], "template_symbol": r["template_symbol"],
                                  "series": r["series"], "receipt_number": r["receipt_number"]}
    corrected = svc.receipts.correction_of(receipt.receipt_id)
    if corrected:
        newer = svc.receipts.get_receipt(corrected)
        out["status"] = "corrected"
        out["corrected_by"] = {"relation": newer.related_receipt["relation"], "template_symbol":
                               newer.template_symbol, "series": newer.series, "receipt_number": newer.receipt_number}
    return out


def verify_by_code(svc: ReceiptsContext, query: dict) -> dict:
    q = parse(VerifyQuery, query)
    receipt_id = svc.receipts.find_by_verification(verification_key(q.kh, q.so, q.ma))
    receipt = svc.receipts.get_receipt(receipt_id) if receipt_id else None
    if receipt is None or receipt.series != q.kh or int(receipt.receipt_number) != int(q.so):
        raise _not_found()
    svc.count("ReceiptVerifications")
    return _answer(svc, receipt, _verified_stored(svc, receipt))


def _verified_stored(svc: ReceiptsContext, receipt: Receipt):
    from chalicelib.receipts.signing import ReceiptSignatureError

    xml = svc.receipts.get_signed_xml(receipt.receipt_id)
    if xml is None:
        raise not_genuine("NOT_SIGNED")
    try:
        verified = svc.receipt_signing.verify_xml(xml)
    except ReceiptSignatureError as exc:
        svc.count("ReceiptVerificationsRefused")
        raise not_genuine(exc.code) from None
    if not _same(verified.receipt, receipt):
        raise not_genuine("DATA_MISMATCH")
    return verified


def _same(signed: dict, receipt: Receipt) -> bool:
    """The figures a verifier relies on, signed vs stored."""
    return (signed["series"] == receipt.series and int(signed["receipt_number"]) == int(receipt.receipt_number)
            and signed["amount_vnd"] == receipt.amount_vnd and signed["template_symbol"] == receipt.template_symbol
            and signed.get("receipt_id") == receipt.receipt_id)


def verify_document(svc: ReceiptsContext, body: dict) -> dict:
    req = parse(VerifyDocumentIn, body)
    if req.signed_xml is not None:
        return _verify_xml(svc, req.signed_xml.encode("utf-8"))
    try:
        pdf = base64.b64decode(req.pdf_base64, validate=True)
    except (binascii.Error, ValueError):
        raise not_genuine("PDF_INVALID") from None
    return _verify_pdf(svc, pdf)


def _verify_xml(svc: ReceiptsContext, document: bytes) -> dict:
    from chalicelib.receipts.signing import ReceiptSignatureError

    try:
        verified = svc.receipt_signing.verify_xml(document)
    except ReceiptSignatureError as exc:
        svc.count("ReceiptVerificationsRefused")
        raise not_genuine(exc.code) from None
    receipt_id = verified.receipt.get("receipt_id") or ""
    receipt = svc.receipts.get_receipt(receipt_id) if receipt_id.startswith("RCP") else None
    stored = svc.receipts.get_signed_xml(receipt_id) if receipt is not None else None
    if receipt is None or stored is None:
        raise not_genuine("UNKNOWN_RECEIPT")  # signed by a trusted key, but never issued here
    if svc.receipt_signing.verify_xml(stored).receipt != verified.receipt:
        raise not_genuine("DATA_MISMATCH")
    return _answer(svc, receipt, verified)


def _verify_pdf(svc: ReceiptsContext, pdf: bytes) -> dict:
    from chalicelib.receipts.pades import ReceiptPdfSignatureError

    try:
        verified = svc.receipt_signing.verify_pdf(pdf)
    except ReceiptPdfSignatureError as exc:
        svc.count("ReceiptVerificationsRefused")
        raise not_genuine(exc.code) from None
    return {"genuine": True, "status": "valid", "document": "pdf", "signed_by": verified.signer_name,
            "signed_at": verified.signing_time.isoformat() if verified.signing_time else None}
