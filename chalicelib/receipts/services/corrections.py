"""Correcting a receipt (operators): a replacing, adjusting or cancelling receipt is a NEW receipt, with a new
number in the unit's current series, referencing the old one (form, series, number, date) and saying why; the old
receipt is never edited. At most one receipt corrects another (correct the newest of a chain). The new receipt is
signed, gets its own verification secret and its own row in the day's summary table (status Thay thế / Điều chỉnh /
Hủy), and reaches the province through the delivery sweeper like any receipt whose forwarding has not started.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.errors import AppError, conflict, not_found
from chalicelib.core.fields import TaxCode
from chalicelib.core.parsing import parse
from chalicelib.receipts.domain import Issue, build_related, slot_for
from chalicelib.receipts.ports import (
    AlreadyCorrectedError,
    ReceiptsContext,
    ReceiptWriteConflictError,
    SigningUnavailableError,
)
from chalicelib.receipts.qr import new_verification_secret
from chalicelib.receipts.services.reading import public_view, signing_unavailable
from chalicelib.receipts.units import collecting_unit

MAX_ATTEMPTS = 10


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    relation: Literal["replacement", "adjustment", "cancellation"] = Field(
        description="replacement (thay thế: corrected payer details), adjustment (điều chỉnh), cancellation (hủy).")
    note: str = Field(min_length=5, max_length=300, description="Why (printed and reported as the explanation).")
    payer_name: str | None = Field(default=None, min_length=1, max_length=200, description="replacement only")
    payer_address: str | None = Field(default=None, min_length=1, max_length=300, description="replacement only")
    payer_tax_code: TaxCode | None = Field(default=None, description="replacement only")


def correct_receipt(svc: ReceiptsContext, actor: str, receipt_id: str, body: dict) -> dict:
    req = parse(CorrectionIn, body)
    old = svc.receipts.get_receipt(receipt_id) if receipt_id.startswith("RCP") else None
    if old is None:
        raise not_found("RECEIPT_NOT_FOUND", "Không tìm thấy biên lai.")
    if not old.modern:
        raise AppError("RECEIPT_LEGACY", "Biên lai lập theo quy định cũ không điều chỉnh được trên hệ thống này.",
                       422, "Không thực hiện được")
    changes = {k: v for k, v in req.model_dump(include={"payer_name", "payer_address", "payer_tax_code"}).items()
               if v is not None}
    if changes and req.relation != "replacement":
        raise AppError("CORRECTION_CHANGES_NOT_ALLOWED", "Chỉ biên lai thay thế được sửa thông tin người nộp.", 422,
                       "Dữ liệu không hợp lệ")
    unit = collecting_unit(old.collecting_unit_code)
    for _ in range(MAX_ATTEMPTS):
        now = svc.clock.now()
        slot = slot_for(svc.settings.receipt_rules, unit, now)
        counter = svc.receipts.counter(slot.counter_key)
        new = build_related(old, relation=req.relation, note=req.note, slot=slot, sequence=counter + 1,
                            issued_at=now, new_id=f"RCP{old.receipt_id[3:6]}{svc.new_id()}",
                            verification_secret=new_verification_secret(), changes=changes)
        new = new.model_copy(update={"related_receipt": {**new.related_receipt, "by": actor}})
        try:
            signed = svc.receipt_signing.sign_xml(new)
        except SigningUnavailableError:
            raise signing_unavailable() from None
        try:
            svc.receipts.record_correction(Issue(new.model_copy(update={"signed": True}), slot.counter_key, counter,
                                                 signed), old.receipt_id)
        except AlreadyCorrectedError:
            raise conflict("RECEIPT_ALREADY_CORRECTED", "Biên lai này đã có biên lai thay thế, điều chỉnh hoặc hủy; "
                           "hãy điều chỉnh biên lai mới nhất.") from None
        except ReceiptWriteConflictError:
            continue
        svc.count("ReceiptsCorrected")
        return public_view(new.model_copy(update={"signed": True}))
    raise AppError("CONCURRENT_UPDATE", "Dãy số biên lai đang được cập nhật đồng thời, vui lòng thử lại.", 409,
                   "Xung đột")
