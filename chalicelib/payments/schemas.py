"""The answers of the payment routes, as the HTTP contract states them (the use cases build plain dicts; a unit test
and the shell's contract checks hold them to these models)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent

PaymentStateName = Literal["CREATED", "PENDING_BANK", "PAID", "FAILED", "EXPIRED", "CANCELLED"]
NoticeStatusName = Literal["payable", "in_payment", "paid"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntakeResult(_Out):
    accepted: int = Field(ge=0, description="Notices stored (new, or a higher version replacing an unpaid one).")
    unchanged: int = Field(ge=0, description="Notices already known at this or a later version (idempotent resend).")


class NoticeItem(_Out):
    """One line of a tax notice (khoản nộp), by budget sub-item (tiểu mục)."""

    sub_item_code: str = Field(description="Budget sub-item code (mã tiểu mục), 4 digits.")
    description: str
    amount_vnd: int = Field(gt=0)


class PropertyView(_Out):
    """The land parcel the dossier is about, as sent with the notices (fields left out when not sent)."""

    address: str
    parcel_number: str | None = absent("Parcel number (số thửa).")
    map_sheet_number: str | None = absent("Map sheet number (số tờ bản đồ).")
    area_m2: float | None = absent("Area in square metres.")
    land_use_certificate: str | None = absent("Land use right certificate number (số GCN).")


class LookupNotice(_Out):
    notice_number: str = Field(description="Tax notice number (số thông báo thuế).")
    version: int = Field(ge=1)
    payer_name: str
    issued_at: datetime | None
    due_date: date | None
    items: list[NoticeItem]
    total_vnd: int = Field(gt=0)
    status: NoticeStatusName = Field(description="payable: can be paid; in_payment: a payment is under way; paid.")


class LookupResult(_Out):
    dossier_code: str = Field(description="Dossier code (mã hồ sơ).")
    property: PropertyView
    notices: list[LookupNotice]


class RefundSummary(_Out):
    """A refund of one of the payment's bank transactions (money the bank took twice), as the payer sees it."""

    refund_id: str
    bank_txn_ref: str = Field(description="The bank transaction refunded.")
    amount_vnd: int = Field(gt=0)
    state: Literal["REFUND_REQUESTED", "REFUND_APPROVED", "REFUNDED", "REFUND_FAILED", "REFUND_REJECTED"] = Field(
        description="REFUND_REQUESTED -> REFUND_APPROVED -> REFUNDED | REFUND_FAILED; or REFUND_REJECTED.")
    requested_at: datetime
    refunded_at: datetime | None = absent("When the bank confirmed the refund.")


class PaymentView(_Out):
    payment_id: str = Field(description="PAY + the province's level-1 code + a ULID.")
    state: PaymentStateName = Field(
        description="CREATED -> PENDING_BANK -> PAID | FAILED | EXPIRED | CANCELLED. A live payment past "
        "expires_at reads EXPIRED."
    )
    amount_vnd: int = Field(gt=0)
    currency: Literal["VND"]
    dossier_code: str
    notice_number: str
    bank_code: str
    created_at: datetime
    expires_at: datetime
    receipt_id: str | None = absent("The electronic receipt (biên lai điện tử), once the payment is PAID.")
    paid_at: datetime | None = absent("When the bank reported the payment, once PAID.")
    refund_required: bool | None = absent(
        "true when the bank reported money taken for a payment that was already over on our side."
    )
    refunds: list[RefundSummary] | None = absent("The refunds of money the bank took twice for this payment.")


class PaymentReturnView(PaymentView):
    """The payment, after the gateway's return URL was verified: what the gateway told the browser, for display
    only (the payment's state comes from the IPN and the status query, never from the browser)."""

    gateway_result: Literal["SUCCESS", "FAILED"] = Field(description="What the signed return URL says.")
    gateway_response_code: str = Field(description="vnp_ResponseCode (00 success, 24 cancelled by the payer, ...).")


class PaymentCreated(PaymentView):
    redirect_url: str = Field(description="Where to send the citizen: the bank's payment page.")
    client_secret: str = Field(pattern="^[0-9a-f]{40}$", description="The payment's access secret: keep it on the "
                               "payer's page (never in a URL); send it as X-Client-Secret to read or cancel the "
                               "payment and read its receipt.")


class BankView(_Out):
    """A collecting bank as the payment page shows it."""

    code: str = Field(description="The bank_code to send in POST /v1/payments (VCB, ICB, BIDV, VBA, MB).")
    name: str = Field(description="Full Vietnamese name (Ngân hàng TMCP ...).")
    short_name: str = Field(description="The name people use (Vietcombank, VietinBank, ...).")
    single_sign_on: bool = Field(description="true: the bank has single sign-on with the portal; paying straight "
                                 "from a linked account needs a signed-in citizen with a linked bank account "
                                 "(otherwise the bank's internet-banking login comes first).")


class BankList(_Out):
    banks: list[BankView]


class CallbackResult(_Out):
    result: Literal["applied", "duplicate"] = Field(
        description="applied: the result was recorded now; duplicate: the same result was already recorded."
    )


class VnpayIpnAnswer(_Out):
    """The gateway's own protocol: always HTTP 200, the outcome is in RspCode."""

    RspCode: Literal["00", "01", "02", "04", "97", "99"] = Field(
        description="00 confirmed; 01 order not found; 02 order already confirmed; 04 invalid amount; "
        "97 invalid signature; 99 other error."
    )
    Message: str
