"""M5: read a receipt as data or as a PDF document."""
from __future__ import annotations

from chalicelib.core.errors import not_found
from chalicelib.receipts.domain import Receipt
from chalicelib.receipts.ports import ReceiptsContext


def _load(svc: ReceiptsContext, receipt_id: str) -> Receipt:
    receipt = svc.ledger.get_receipt(receipt_id) if receipt_id.startswith("RCP") and len(receipt_id) < 80 else None
    if receipt is None:
        raise not_found("RECEIPT_NOT_FOUND", "Không tìm thấy biên lai.")
    return receipt


def receipt_view(svc: ReceiptsContext, receipt_id: str) -> dict:
    return _load(svc, receipt_id).model_dump(exclude={"sequence"})


def receipt_pdf(svc: ReceiptsContext, receipt_id: str) -> tuple[bytes, str]:
    receipt = _load(svc, receipt_id)
    return svc.receipt_pdf(receipt.model_dump()), receipt.receipt_number
