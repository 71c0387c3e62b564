"""The answers of the receipt routes, as the HTTP contract states them."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent

Relation = Literal["replacement", "adjustment", "cancellation"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReceiptItem(_Out):
    sub_item_code: str = Field(description="Budget sub-item code (mã tiểu mục), 4 digits.")
    description: str
    amount_vnd: int = Field(gt=0)


class RelatedReceipt(_Out):
    relation: Relation
    receipt_id: str
    template_symbol: str
    series: str
    receipt_number: str
    issued_at: datetime
    note: str | None = absent("Why the receipt was replaced, adjusted or cancelled.")
    by: str | None = absent("The operator who issued the correcting receipt.")


class Receipt(_Out):
    """An electronic receipt (biên lai điện tử) for one paid notice or tax debt."""

    receipt_id: str
    receipt_number: str = Field(description="Number within the series (up to 8 digits, from 1 every 1 January).")
    template_symbol: str = Field(description="Form symbol (ký hiệu mẫu), EBL01; 01BLP0-001 before the switch date.")
    series: str = Field(description="Series (ký hiệu), e.g. 26TAA: year, T, the collecting unit's two letters.")
    collecting_unit_code: str
    collecting_unit_name: str
    collecting_unit_tax_code: str | None = absent("The collecting organisation's tax code.")
    province_code: str | None = absent("Land payments: the dossier's province (receives the receipt).")
    payer_name: str
    payer_tax_code: str | None = absent("The payer's tax code, when the notice or the tax authority has one.")
    payer_address: str | None = absent("The payer's address, when known.")
    dossier_code: str | None = absent("The land dossier (land payments).")
    notice_number: str = Field(description="Tax notice, decision or debt reference the receipt is for.")
    payment_kind: Literal["land", "personal_tax", "registration_fee"]
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
    reference_number: str | None = absent("The payment's reference number (số tham chiếu).")
    tax_payment_id: str | None = absent("The tax authority's payment ID (mã định danh khoản phải nộp).")
    verification_secret: str | None = absent("The secret printed with the QR code (mã tra cứu).")
    verification_url: str | None = absent("The public verification page of this receipt (what the QR code holds).")
    related_receipt: RelatedReceipt | None = absent("The receipt this one replaces, adjusts or cancels.")
    corrected_by: str | None = absent("The receipt that replaces, adjusts or cancels this one.")
    delivery_state: str = Field(description="Forwarding to the province's one-stop system (PENDING, DELIVERED, "
                                "FAILING, DEAD; NONE for tax payments, which go to no province; SELFTEST for a "
                                "self-test receipt, delivered by the self-test itself).")
    test: bool = Field(default=False, description="true for a receipt of a province's integration self-test (test "
                       "series and numbering, no real payment).")


class ReceiptRef(_Out):
    relation: Relation
    template_symbol: str
    series: str
    receipt_number: str


class Verification(_Out):
    """Whether a receipt is genuine - and nothing about who paid it."""

    genuine: Literal[True]
    status: Literal["valid", "corrected"] = Field(description="corrected: a later receipt replaces, adjusts or "
                                                  "cancels this one (see corrected_by).")
    document: Literal["pdf"] | None = absent("Set when a PDF was checked (its signature only).")
    template_symbol: str | None = absent("Form symbol.")
    series: str | None = absent("Series.")
    receipt_number: str | None = absent("Number.")
    issued_at: datetime | None = absent("Date of issue.")
    amount_vnd: int | None = absent("Amount.")
    amount_in_words: str | None = absent("Amount in words.")
    currency: Literal["VND"] | None = absent("Currency.")
    collecting_unit_name: str | None = absent("The collecting organisation.")
    collecting_unit_tax_code: str | None = absent("Its tax code.")
    signed_by: str = Field(description="Common name of the signing certificate.")
    signed_at: datetime | None = Field(description="Signing time (GMT+7).")
    related_receipt: ReceiptRef | None = absent("The receipt this one corrects.")
    corrected_by: ReceiptRef | None = absent("The receipt that corrects this one.")


class ReportHistory(BaseModel):
    model_config = ConfigDict(extra="allow")
    at: datetime
    outcome: str


class DayReportView(_Out):
    unit_code: str
    day: str = Field(description="YYYY-MM-DD (Vietnam time).")
    rows: int = Field(description="Receipts issued that day by the unit.")
    state: Literal["OPEN", "FAILING", "ACKED", "REFUSED", "DEAD"]
    reported_rows: int = Field(description="Rows covered by the last acknowledged report.")
    submissions: int
    attempts: int = Field(description="Failed attempts since the last answer.")
    last_error: str | None
    ack_id: str | None
    history: list[ReportHistory]


class DayReports(_Out):
    unit_code: str
    days: list[DayReportView]
