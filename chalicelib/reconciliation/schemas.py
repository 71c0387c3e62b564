"""The answers of the reconciliation routes (refunds), as the HTTP contract states them."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent

RefundStateName = Literal["REFUND_REQUESTED", "REFUND_APPROVED", "REFUNDED", "REFUND_FAILED", "REFUND_REJECTED"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RefundAuditEntry(_Out):
    action: str = Field(description="REFUND_REQUESTED, REFUND_APPROVED, REFUND_REJECTED, SENT_TO_BANK, "
                        "BANK_NO_ANSWER, NEEDS_REVIEW, REFUNDED, REFUND_FAILED.")
    by: str = Field(description="The operator's subject, `bank` for the bank's answer, or the retrying job.")
    at: datetime
    note: str | None = absent("The operator's note or reason, or the bank's code.")


class RefundView(_Out):
    refund_id: str = Field(description="RFD + a ULID: also the bank's idempotency key (every send repeats it).")
    payment_id: str
    bank_code: str
    bank_txn_ref: str = Field(description="The bank transaction refunded.")
    amount_vnd: int = Field(gt=0)
    full: bool = Field(description="The whole transaction (true) or a part of it.")
    reason: str
    state: RefundStateName = Field(description="REFUND_REQUESTED -> REFUND_APPROVED -> REFUNDED | REFUND_FAILED; "
                                   "REFUND_REQUESTED -> REFUND_REJECTED.")
    collecting_unit: str
    payment_created_at: datetime
    requested_by: str
    requested_at: datetime
    decided_by: str | None = Field(description="Who approved or rejected it (never the requester for an approval).")
    decided_at: datetime | None
    refunded_at: datetime | None
    bank_refund_ref: str | None = Field(description="The bank's reference of the refund, when it gave one.")
    attempts: int = Field(ge=0, description="Sends to the bank so far (all with the same refund_id).")
    last_attempt_at: int | None = Field(description="Epoch seconds of the last send.")
    last_result: str | None = Field(description="The bank's code, or why there was no answer.")
    needs_review: bool = Field(description="The bank's answer cannot settle it: an operator must check with the "
                               "bank (no automatic resend).")
    alerted: bool
    audit: list[RefundAuditEntry]
    rev: int


class RefundPage(_Out):
    items: list[RefundView] = Field(description="Newest request first.")
    next_cursor: str | None
