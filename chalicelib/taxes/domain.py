"""Personal tax and registration fee (M13, "tiện ích Thuế"): what the tax authority answers for a taxpayer, what the
citizen is shown, and the payment orders they become. Pure.

The tax authority's rules kept here: personal tax is shown down to the sub-items still owed, without amounts, and
paid all at once (one payment for the whole balance, under the one payment ID the tax authority gives it);
registration fee (lệ phí trước bạ) for cars and motorbikes is shown per decision number with its amount and paid one
decision per payment. Each debt carries the tax authority's payment ID (mã định danh khoản phải nộp), which is also
what stops the same debt being paid twice (the claim key).
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.payments.domain.payments import PaymentOrder

VEHICLE_LABELS = {"car": "Ô tô", "motorbike": "Xe máy"}
PERSONAL_TAX_LABEL = "Thuế thu nhập cá nhân"


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Taxpayer(_In):
    tax_code: str
    name: str
    id_number: str | None = None
    address: str | None = None


class TaxSubItem(_In):
    sub_item_code: str = Field(pattern=r"^\d{4}$")
    description: str = Field(min_length=1, max_length=300)
    amount_vnd: int = Field(gt=0)


class TaxCategory(_In):
    category: str = Field(min_length=1, max_length=200)
    sub_items: list[TaxSubItem] = Field(min_length=1)


class PersonalTax(_In):
    payment_id: str = Field(min_length=1, max_length=40)  # the tax authority's payment ID of the whole balance
    collecting_unit: str
    categories: list[TaxCategory] = Field(min_length=1)

    @property
    def amount_vnd(self) -> int:
        return sum(s.amount_vnd for c in self.categories for s in c.sub_items)


class RegistrationFee(_In):
    decision_number: str = Field(min_length=1, max_length=64)
    vehicle: Literal["car", "motorbike"]
    description: str = Field(min_length=1, max_length=300)  # the vehicle, as the decision names it
    sub_item_code: str = Field(pattern=r"^\d{4}$")
    amount_vnd: int = Field(gt=0)
    payment_id: str = Field(min_length=1, max_length=40)
    collecting_unit: str


class TaxInfo(_In):
    taxpayer: Taxpayer
    personal_tax: PersonalTax | None = None
    registration_fees: list[RegistrationFee] = Field(default_factory=list)

    def without_paid(self, paid_ids: set[str]) -> "TaxInfo":
        """What is still owed once the portal's own paid claims are taken out (the tax authority may not have
        applied a payment yet: the debt disappears from the next lookup all the same)."""
        personal = self.personal_tax if self.personal_tax and self.personal_tax.payment_id not in paid_ids else None
        fees = [f for f in self.registration_fees if f.payment_id not in paid_ids]
        return self.model_copy(update={"personal_tax": personal, "registration_fees": fees})

    def payment_ids(self) -> list[str]:
        ids = [f.payment_id for f in self.registration_fees]
        return ids + ([self.personal_tax.payment_id] if self.personal_tax else [])


def claim_key(tax_code: str, payment_id: str) -> str:
    return f"{tax_code}#{payment_id}"


def view(info: TaxInfo) -> dict:
    """The citizen's 'Thuế' page: personal tax by category and sub-item without amounts; registration fees with."""
    t = info.taxpayer
    personal = info.personal_tax
    return {
        "taxpayer": {"name": t.name, "tax_code": t.tax_code, "address": t.address,
                     "id_number_masked": ("*" * 8 + t.id_number[-4:]) if t.id_number else None},
        "personal_tax": {"payment_id": personal.payment_id, "categories": [
            {"category": c.category, "sub_items": [{"sub_item_code": s.sub_item_code, "description": s.description}
                                                   for s in c.sub_items]} for c in personal.categories]}
        if personal else None,
        "registration_fees": [{"decision_number": f.decision_number, "vehicle": f.vehicle,
                               "vehicle_label": VEHICLE_LABELS[f.vehicle], "description": f.description,
                               "amount_vnd": f.amount_vnd, "payment_id": f.payment_id}
                              for f in info.registration_fees],
        "can_pay": bool(personal or info.registration_fees),
    }


def personal_tax_order(info: TaxInfo, on_paid: tuple[dict, ...], notify_phone_sealed: str | None) -> PaymentOrder:
    p, t = info.personal_tax, info.taxpayer
    items = [{"sub_item_code": s.sub_item_code, "description": s.description, "amount_vnd": s.amount_vnd}
             for c in p.categories for s in c.sub_items]
    return PaymentOrder(kind="personal_tax", collecting_unit=p.collecting_unit, notice_number=p.payment_id,
                        amount_vnd=p.amount_vnd, items=items, payer_name=t.name, payer_tax_code=t.tax_code,
                        payer_address=t.address, tax_payment_id=p.payment_id,
                        claim_key=claim_key(t.tax_code, p.payment_id), notify_phone_sealed=notify_phone_sealed,
                        on_paid=on_paid)


def registration_fee_order(info: TaxInfo, fee: RegistrationFee, on_paid: tuple[dict, ...],
                           notify_phone_sealed: str | None) -> PaymentOrder:
    t = info.taxpayer
    item = {"sub_item_code": fee.sub_item_code, "amount_vnd": fee.amount_vnd,
            "description": f"Lệ phí trước bạ {VEHICLE_LABELS[fee.vehicle].lower()}: {fee.description}"}
    return PaymentOrder(kind="registration_fee", collecting_unit=fee.collecting_unit,
                        notice_number=fee.decision_number, amount_vnd=fee.amount_vnd, items=[item], payer_name=t.name,
                        payer_tax_code=t.tax_code, payer_address=t.address, tax_payment_id=fee.payment_id,
                        claim_key=claim_key(t.tax_code, fee.payment_id), notify_phone_sealed=notify_phone_sealed,
                        on_paid=on_paid)


def paid_notice(tax_code: str, kind: str, tax_payment_id: str, amount_vnd: int) -> dict:
    """What the tax authority is told once the payment is PAID (the payment's own facts are added then)."""
    return {"kind": "tax_payment", "ref": tax_payment_id,
            "payload": {"tax_code": tax_code, "debt_kind": kind, "tax_payment_id": tax_payment_id,
                        "amount_vnd": amount_vnd}}
