"""M5: read a receipt as data, as its PDF document, or as its signed XML (the legal record)."""
from __future__ import annotations

from chalicelib.core import access
from chalicelib.core.errors import AppError, not_found
from chalicelib.receipts.domain import Receipt
from chalicelib.receipts.ports import ReceiptsContext


def _load(svc: ReceiptsContext, receipt_id: str) -> Receipt:
    receipt = svc.receipts.get_receipt(receipt_id) if receipt_id.startswith("RCP") and len(receipt_id) < 80 else None
    if receipt is None:
        raise not_found("RECEIPT_NOT_FOUND", "Không tìm thấy biên lai.")
    return receipt


def _accessible(svc: ReceiptsContext, receipt_id: str, secret: str | None, citizen_sub: str | None) -> Receipt:
    """A receipt is its payment's: the payment's access secret or the signed-in citizen who paid opens it. Anyone
    else - a wrong secret included - gets the answer an unknown receipt gets. A correcting receipt is opened by the
    corrected payment's access (its payment id is the original's)."""
    if not secret and not citizen_sub:
        raise AppError("CLIENT_SECRET_REQUIRED", "Cần mã truy cập của giao dịch (client_secret) trong tiêu đề "
                       "X-Client-Secret, hoặc đăng nhập bằng tài khoản đã thanh toán.", 401, "Chưa xác thực")
    receipt = _load(svc, receipt_id)
    if access.holds_secret(svc.hasher, receipt.payment_id, secret):
        return receipt
    payment = svc.ledger.get_payment(receipt.payment_id) if citizen_sub else None
    if payment is None or payment.citizen_sub != citizen_sub:
        raise not_found("RECEIPT_NOT_FOUND", "Không tìm thấy biên lai.")
    return receipt


def public_view(receipt: Receipt) -> dict:
    return receipt.model_dump(exclude={"sequence", "signed"})


def receipt_view(svc: ReceiptsContext, receipt_id: str, secret: str | None = None,
                 citizen_sub: str | None = None) -> dict:
    receipt = _accessible(svc, receipt_id, secret, citizen_sub)
    view = public_view(receipt)
    if receipt.verification_secret:
        from chalicelib.receipts.qr import verification_url

        view["verification_url"] = verification_url(svc.settings.receipt_verify_url, receipt.series,
                                                    receipt.receipt_number, receipt.verification_secret)
    corrected_by = svc.receipts.correction_of(receipt.receipt_id)
    if corrected_by:
        view["corrected_by"] = corrected_by
    return {k: v for k, v in view.items() if v is not None}


def receipt_pdf(svc: ReceiptsContext, receipt_id: str, secret: str | None = None,
                citizen_sub: str | None = None) -> tuple[bytes, str]:
    from chalicelib.receipts.ports import SigningUnavailableError

    receipt = _accessible(svc, receipt_id, secret, citizen_sub)
    try:
        return svc.receipt_documents.pdf(receipt), receipt.receipt_number
    except SigningUnavailableError:
        raise signing_unavailable() from None


def signing_unavailable() -> AppError:
    return AppError("RECEIPT_SIGNING_UNAVAILABLE", "Tạm thời chưa ký được biên lai điện tử, vui lòng thử lại sau ít "
                    "phút.", 503, "Dịch vụ tạm thời gián đoạn")


def receipt_xml(svc: ReceiptsContext, receipt_id: str, secret: str | None = None,
                citizen_sub: str | None = None) -> tuple[bytes, str]:
    receipt = _accessible(svc, receipt_id, secret, citizen_sub)
    xml = svc.receipts.get_signed_xml(receipt.receipt_id)
    if xml is None:
        raise not_found("RECEIPT_XML_NOT_FOUND", "Biên lai này được lập theo quy định cũ, không có tệp XML có chữ "
                        "ký số.")
    return xml, receipt.receipt_number
