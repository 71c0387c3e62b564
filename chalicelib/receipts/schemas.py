"""The answer of the receipt route, as the HTTP contract states it."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReceiptItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sub_item_code: str = Field(description="Budget sub-item code (mã tiểu mục), 4 digits.")
    description: str
    amount_vnd: int = Field(gt=0)


class Receipt(BaseModel):
    """An electronic receipt (biên lai thu tiền điện tử) for one paid notice."""

    model_config = ConfigDict(extra="forbid")
    receipt_id: str
    receipt_number: str = Field(description="Number within the series.")
    template_symbol: str = Field(description="Receipt template symbol (ký hiệu mẫu).")
    series: str = Field(description="Receipt series (ký hiệu biên lai).")
    collecting_unit_code: str
    collecting_unit_name: str
    payer_name: str
    dossier_code: str
    notice_number: str
    items: list[ReceiptItem]
    amount_vnd: int
    amount_in_words: str = Field(description="The amount in Vietnamese words (số tiền bằng chữ).")
    currency: Literal["VND"]
    bank_code: str
    bank_name: str
    bank_txn_ref: str
    paid_at: datetime
    issued_at: datetime
    payment_id: str
    delivery_state: str = Field(description="Forwarding to the province's one-stop system (PENDING, ...; SELFTEST "
                                "for a self-test receipt, delivered by the self-test itself).")
    test: bool = Field(default=False, description="true for a receipt of a province's integration self-test (test "
                       "series and numbering, no real payment).")
