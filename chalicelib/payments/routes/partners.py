"""Partner endpoints: signed notices from the tax authority / provinces, and bank payment results."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from chalicelib.api.http import (
    ACCEPTED_CONTENT_TYPES,
    endpoint,
    json_response,
    parse_json,
    raw_body,
)

bp = Blueprint(__name__)


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)  # banks add fields of their own
    payment_id: str = Field(min_length=1, max_length=64)
    bank_txn_ref: str = Field(min_length=1, max_length=64)
    amount_vnd: StrictInt
    currency: str = Field(min_length=3, max_length=3)
    status: Literal["SUCCESS", "FAILED"]
    paid_at: datetime | None = None


def _verify(secrets: list[str], body: bytes) -> str:
    from chalicelib.aws.observability import logger
    from chalicelib.core.errors import invalid_signature
    from chalicelib.core.webhooks import SignatureError, verify_webhook

    try:
        return verify_webhook(body, bp.current_request.headers or {}, secrets)
    except SignatureError as exc:
        logger().warning("webhook signature refused", extra={"reason": exc.reason})
        from chalicelib.api.wiring import context

        context().count("CallbacksRefused")
        raise invalid_signature() from None


@bp.route("/v1/partners/notices", methods=["POST"], content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def receive_notices():
    from chalicelib.api.wiring import context
    from chalicelib.payments.services.intake import ingest_notices

    svc = context()
    body = raw_body(bp.current_request, svc.settings.max_body_bytes)
    all_secrets = [s for secrets in context().secrets.all_partner_secrets().values() for s in secrets]
    _verify(all_secrets, body)
    result = ingest_notices(svc, parse_json(body, bp.current_request))
    return json_response(result.as_dict())


@bp.route("/v1/partners/banks/{bank_code}/callbacks", methods=["POST"], content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def bank_callback(bank_code: str):
    from chalicelib.api.wiring import context
    from chalicelib.core.banks import bank_registry
    from chalicelib.core.errors import not_found
    from chalicelib.core.parsing import parse
    from chalicelib.payments.services.bank_results import BankResult, apply_bank_result

    bank = bank_registry().get(bank_code.upper())
    if bank is None or bank.protocol != "standard_webhooks":
        raise not_found("BANK_UNKNOWN", "Ngân hàng không tồn tại hoặc không dùng giao thức này.")
    svc = context()
    body = raw_body(bp.current_request, svc.settings.max_body_bytes)
    _verify(context().secrets.bank_secrets(bank.code), body)
    cb = parse(CallbackIn, parse_json(body, bp.current_request))
    outcome = apply_bank_result(svc, BankResult(
        bank_code=bank.code, payment_id=cb.payment_id, bank_txn_ref=cb.bank_txn_ref, amount_vnd=cb.amount_vnd,
        currency=cb.currency.upper(), success=cb.status == "SUCCESS",
        paid_at=cb.paid_at.isoformat() if cb.paid_at else None))
    return json_response({"result": outcome.value})


_IPN_CODES = {"PAYMENT_NOT_FOUND": "01", "PAYMENT_ALREADY_FINAL": "02", "AMOUNT_MISMATCH": "04",
              "BANK_MISMATCH": "04"}


@bp.route("/v1/partners/banks/vnpay/ipn", methods=["GET"])
@endpoint(bp)
def vnpay_ipn():
    """VNPay-style IPN: always HTTP 200 with the gateway's RspCode (its protocol), never problem+json."""
    from chalicelib.api.wiring import context
    from chalicelib.aws.observability import logger
    from chalicelib.core.banks import bank_registry
    from chalicelib.core.errors import AppError
    from chalicelib.payments.adapters import vnpay
    from chalicelib.payments.services.bank_results import (
        BankResult,
        Outcome,
        apply_bank_result,
    )

    svc = context()
    params = dict(bp.current_request.query_params or {})
    if not vnpay.verify_ipn(params, context().secrets.vnpay_hash_secret()):
        svc.count("CallbacksRefused")
        logger().warning("vnpay ipn signature refused")
        return json_response(vnpay.ipn_response(vnpay.RSP_INVALID_SIGNATURE))
    try:
        ipn = vnpay.parse_ipn(params)
    except vnpay.InvalidIpnError as exc:
        logger().warning("vnpay ipn unusable", extra={"reason": exc.reason})
        return json_response(vnpay.ipn_response(exc.rsp_code))
    vnpay_banks = [b.code for b in bank_registry().values() if b.protocol == "vnpay_ipn"]
    bank_code = ipn.bank_code if ipn.bank_code in vnpay_banks else vnpay_banks[0]
    try:
        outcome = apply_bank_result(svc, BankResult(
            bank_code=bank_code, payment_id=ipn.payment_id, bank_txn_ref=ipn.bank_txn_ref or "",
            amount_vnd=ipn.amount_vnd, currency="VND", success=ipn.success,
            paid_at=ipn.paid_at.isoformat() if ipn.paid_at else None))
    except AppError as err:
        return json_response(vnpay.ipn_response(_IPN_CODES.get(err.code, vnpay.RSP_UNKNOWN_ERROR)))
    code = vnpay.RSP_CONFIRM_SUCCESS if outcome == Outcome.APPLIED else vnpay.RSP_ORDER_ALREADY_CONFIRMED
    return json_response(vnpay.ipn_response(code))
