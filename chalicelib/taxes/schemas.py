"""The answers of the 'Thuế' routes (M13), as the HTTP contract states them."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaxpayerView(_Out):
    name: str
    tax_code: str
    address: str | None
    id_number_masked: str | None = Field(description="The ID number, all but the last 4 digits masked.")


class SubItemView(_Out):
    sub_item_code: str
    description: str


class CategoryView(_Out):
    category: str
    sub_items: list[SubItemView] = Field(description="Sub-items still owed (no amounts: the tax authority's rule).")


class PersonalTaxView(_Out):
    payment_id: str = Field(description="The tax authority's payment ID (mã định danh khoản phải nộp).")
    categories: list[CategoryView]


class RegistrationFeeView(_Out):
    decision_number: str
    vehicle: Literal["car", "motorbike"]
    vehicle_label: str
    description: str
    amount_vnd: int = Field(gt=0)
    payment_id: str


class TaxInfoView(_Out):
    taxpayer: TaxpayerView
    personal_tax: PersonalTaxView | None
    registration_fees: list[RegistrationFeeView]
    can_pay: bool = Field(description="Whether the pay action is offered (at least one debt).")


class TaxTransaction(_Out):
    payment_id: str
    kind: Literal["personal_tax", "registration_fee"]
    state: Literal["CREATED", "PENDING_BANK", "PAID", "FAILED", "EXPIRED", "CANCELLED"]
    amount_vnd: int
    notice_number: str = Field(description="The decision number, or the personal tax's payment ID.")
    tax_payment_id: str | None
    reference_number: str | None
    bank_code: str
    created_at: datetime
    paid_at: datetime | None = absent("Once PAID.")
    receipt_id: str | None = absent("Once PAID.")
    receipt_url: str | None = absent("Once PAID.")


class TaxTransactionPage(_Out):
    items: list[TaxTransaction]
    next_cursor: str | None
