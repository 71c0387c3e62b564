"""The citizen's 'Thuế' utility (M13): tax information, paying personal tax (all at once) or one registration-fee
decision, and the tax payment history. Signed-in citizens with a tax code on their account."""
from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.routing import Call, Ok, Param, Reply, bearer, route
from chalicelib.payments.schemas import PaymentCreated
from chalicelib.taxes.schemas import TaxInfoView, TaxTransactionPage
from chalicelib.taxes.services import TaxPaymentIn

bp = Blueprint(__name__)
CITIZEN = bearer("citizen")
TA_DOWN = {503: ("TAX_AUTHORITY_UNAVAILABLE",)}
TAX_CODE = {422: ("TAX_CODE_REQUIRED",)}
IDEMPOTENCY_KEY = Param("Idempotency-Key", "header", required=False,
                        description="1 to 255 characters: the same key with the same body returns the first answer.",
                        schema={"type": "string", "minLength": 1, "maxLength": 255})


def _citizen(call: Call) -> str:
    return call.principal.subject


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    __rules__ = ("CURSOR_INVALID",)  # an opaque cursor's content
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, min_length=1, max_length=2000)


@route(bp, "GET", "/v1/citizens/me/taxes", tag="citizens", access=CITIZEN,
       summary="Tax information: personal tax owed (sub-items, no amounts) and registration fees (with amounts)",
       description="Asked of the tax authority for the tax code on the account (10/13 digits, or the 12-digit "
       "personal number). `can_pay` says whether the pay action is offered. The tax authority down: "
       "`503 TAX_AUTHORITY_UNAVAILABLE`.",
       ok={200: Ok("What the citizen owes.", TaxInfoView)},
       problems={**TAX_CODE, 404: ("TAXPAYER_NOT_FOUND",), **TA_DOWN})
def taxes(call: Call):
    from chalicelib.taxes.services import tax_info

    return tax_info(call.ctx, _citizen(call))


@route(bp, "POST", "/v1/citizens/me/taxes/payments", tag="citizens", access=CITIZEN, request=TaxPaymentIn,
       params=(IDEMPOTENCY_KEY,), summary="Pay all personal tax, or one registration-fee decision, at a bank",
       description="The same payment rails as land notices: the answer is the payment with the bank redirect; a "
       "single-sign-on bank needs a linked account (`403 BANK_ACCOUNT_NOT_LINKED`). The amount is the tax "
       "authority's at this moment. Nothing is created when the tax authority is down (503).",
       ok={201: Ok("Payment created (or the first answer replayed for the same Idempotency-Key).", PaymentCreated)},
       problems={400: ("IDEMPOTENCY_KEY_INVALID",), 403: ("BANK_ACCOUNT_NOT_LINKED",),
                 404: ("TAXPAYER_NOT_FOUND", "TAX_DEBT_NOT_FOUND"),
                 409: ("PAYMENT_IN_PROGRESS", "IDEMPOTENCY_KEY_REUSED"),
                 422: ("TAX_CODE_REQUIRED", "RETURN_URL_NOT_ALLOWED"), **TA_DOWN})
def pay_taxes(call: Call):
    from chalicelib.taxes.services import pay_taxes as do_pay

    status, body = do_pay(call.ctx, _citizen(call), call.body(), call.header("idempotency-key"))
    return Reply(body, status)


@route(bp, "GET", "/v1/citizens/me/taxes/transactions", tag="citizens", access=CITIZEN, query=PageQuery,
       summary="Lịch sử giao dịch thuế: the citizen's tax payments with their states and receipts",
       ok={200: Ok("A page, newest first.", TaxTransactionPage)})
def tax_transactions(call: Call):
    from chalicelib.taxes.services import tax_transactions as history

    q = call.query()
    return history(call.ctx, _citizen(call), q.limit, q.cursor)
