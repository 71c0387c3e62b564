"""M13: the signed-in citizen's taxes - look up (tax authority), pay (the payments' rails), history.

Nothing is written before the tax authority has answered: when it is down the citizen gets a clear 503 and no
payment, claim or reference number exists. Paying goes through ``payments.services.payment_requests.start_payment``
(the same idempotency, single-sign-on bank rule, bank redirect, callback, receipt and history as land payments);
the order claims the debt by the tax authority's payment ID, so one debt has at most one live payment and is never
paid twice, and once PAID the tax authority is told through the outbox (retried until it acknowledges).
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.core.errors import AppError, FieldError, not_found, rule_error, validation_error
from chalicelib.core.fields import BankCode
from chalicelib.core.parsing import parse
from chalicelib.core.validation import InvalidValueError, RuleError
from chalicelib.payments.services.payment_requests import start_payment
from chalicelib.receipts.ports import TaxAuthorityError
from chalicelib.taxes.domain import (
    TaxInfo,
    claim_key,
    paid_notice,
    personal_tax_order,
    registration_fee_order,
    view,
)
from chalicelib.taxes.ports import TaxesContext

TAX_KINDS = ("personal_tax", "registration_fee")


class TaxPaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    __rules__ = ("DECISION_NUMBER_REQUIRED",)  # one field against another
    kind: Literal["personal_tax", "registration_fee"] = Field(
        description="personal_tax: all personal tax owed, at once; registration_fee: one decision.")
    decision_number: str | None = Field(default=None, min_length=1, max_length=64,
                                        description="The registration-fee decision to pay (registration_fee only).")
    bank_code: BankCode = Field(min_length=2, max_length=10)
    return_url: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _decision(self) -> "TaxPaymentIn":
        if (self.kind == "registration_fee") != (self.decision_number is not None):
            raise RuleError("DECISION_NUMBER_REQUIRED",
                                    "Lệ phí trước bạ cần số quyết định; thuế thu nhập cá nhân thì không.")
        return self


def _unavailable() -> AppError:
    return AppError("TAX_AUTHORITY_UNAVAILABLE", "Hệ thống của cơ quan thuế đang tạm thời không phản hồi. Vui lòng "
                    "thử lại sau ít phút; chưa có giao dịch nào được tạo.", 503, "Dịch vụ tạm thời gián đoạn",
                    headers={"Retry-After": "60"})


def _account(svc: TaxesContext, account_id: str):
    account = svc.taxpayers.account(account_id)
    if account is None or not account.tax_code:
        raise AppError("TAX_CODE_REQUIRED", "Tài khoản chưa có mã số thuế. Vui lòng cập nhật mã số thuế (hoặc số "
                       "định danh cá nhân) trong thông tin tài khoản.", 422, "Thiếu mã số thuế")
    return account


def _owed(svc: TaxesContext, tax_code: str) -> TaxInfo:
    """The tax authority's answer, less what the portal has already seen paid."""
    try:
        info = svc.tax_authority.lookup(tax_code)
    except TaxAuthorityError as exc:
        if exc.unavailable:
            svc.count("TaxAuthorityUnavailable")
            raise _unavailable() from None
        info = None
    if info is None:
        raise not_found("TAXPAYER_NOT_FOUND", "Cơ quan thuế không có thông tin người nộp thuế với mã số thuế này.")
    claims = [claim_key(tax_code, pid) for pid in info.payment_ids()]
    paid = {key.split("#", 1)[1] for key in svc.ledger.paid_claims(claims)}
    return info.without_paid(paid)


def tax_info(svc: TaxesContext, account_id: str) -> dict:
    return view(_owed(svc, _account(svc, account_id).tax_code))


def pay_taxes(svc: TaxesContext, account_id: str, body: dict, idempotency_key: str | None) -> tuple[int, dict]:
    req = parse(TaxPaymentIn, body)
    account = _account(svc, account_id)
    info = _owed(svc, account.tax_code)
    phone = svc.sealer.seal(account.phone.encode()) if account.phone else None
    if req.kind == "personal_tax":
        if info.personal_tax is None:
            raise not_found("TAX_DEBT_NOT_FOUND", "Không còn khoản thuế thu nhập cá nhân nào phải nộp.")
        p = info.personal_tax
        notice = paid_notice(account.tax_code, req.kind, p.payment_id, p.amount_vnd)
        order = personal_tax_order(info, (notice,), phone)
    else:
        fee = next((f for f in info.registration_fees if f.decision_number == req.decision_number), None)
        if fee is None:
            raise not_found("TAX_DEBT_NOT_FOUND", "Không có khoản lệ phí trước bạ còn phải nộp theo số quyết định này.")
        notice = paid_notice(account.tax_code, req.kind, fee.payment_id, fee.amount_vnd)
        order = registration_fee_order(info, fee, (notice,), phone)
    fingerprint = {**req.model_dump(), "account": account_id, "tax_payment_id": order.tax_payment_id,
                   "amount_vnd": order.amount_vnd}
    try:
        return start_payment(svc, order, bank_code=req.bank_code, return_url=req.return_url,
                             idempotency_key=idempotency_key, citizen_sub=account_id, fingerprint=fingerprint)
    except InvalidValueError as exc:  # an unknown bank code
        raise validation_error([FieldError("bank_code", exc.code, exc.message)]) from None


def tax_transactions(svc: TaxesContext, account_id: str, limit: int, cursor: str | None) -> dict:
    """'Lịch sử giao dịch thuế': the citizen's personal-tax and registration-fee payments, newest first."""
    try:
        payments, next_cursor = svc.history.payments_of(account_id, limit, cursor)
    except ValueError:
        raise rule_error("cursor", "CURSOR_INVALID", "Con trỏ phân trang không hợp lệ.") from None
    now = int(svc.clock.now().timestamp())
    items = [{"payment_id": p.payment_id, "kind": p.kind, "state": p.effective_state(now).value,
              "amount_vnd": p.amount_vnd, "notice_number": p.notice_number, "tax_payment_id": p.tax_payment_id,
              "reference_number": p.reference_number, "bank_code": p.bank_code, "created_at": p.created_at,
              **({"paid_at": p.paid_at} if p.paid_at else {}),
              **({"receipt_id": p.receipt_id, "receipt_url": f"/v1/receipts/{p.receipt_id}"} if p.receipt_id else {})}
             for p in payments if p.kind in TAX_KINDS]
    return {"items": items, "next_cursor": next_cursor}
