"""Partner endpoints: signed notices from the tax authority / provinces, and bank payment results."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from chalicelib.api.routing import GATEWAY, WEBHOOK, Call, Ok, Param, route
from chalicelib.payments.domain.notices import NoticeBatchIn
from chalicelib.payments.schemas import CallbackResult, IntakeResult, VnpayIpnAnswer

bp = Blueprint(__name__)

WEBHOOK_HEADERS = (
    Param("webhook-id", "header", "Standard Webhooks message id (unique per message; the same on retries).",
          schema={"type": "string", "minLength": 1, "maxLength": 255}),
    Param("webhook-timestamp", "header", "Standard Webhooks timestamp: unix seconds. More than 5 minutes away from "
          "the server's clock is 401 INVALID_SIGNATURE.", schema={"type": "string", "pattern": "^[0-9]{1,12}$"}),
    Param("webhook-signature", "header", 'Standard Webhooks signature: `v1,<base64 HMAC-SHA256 of "{webhook-id}.'
          '{webhook-timestamp}.{raw body}">` under the partner secret `whsec_<base64>`; several space-separated '
          "signatures are allowed (key rotation). Bad or missing: 401 INVALID_SIGNATURE.",
          schema={"type": "string", "minLength": 1, "maxLength": 2000}),
)


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)  # banks add fields of their own
    payment_id: str = Field(min_length=1, max_length=64)
    bank_txn_ref: str = Field(min_length=1, max_length=64)
    amount_vnd: StrictInt
    currency: str = Field(min_length=3, max_length=3)
    status: Literal["SUCCESS", "FAILED"]
    paid_at: datetime | None = None


class VnpayIpnQuery(BaseModel):
    """The gateway's IPN query string (every vnp_ parameter it sends is signed; unknown ones are kept)."""

    model_config = ConfigDict(extra="allow")
    vnp_TmnCode: str = Field(description="Merchant (terminal) code of the portal at the gateway.")
    vnp_Amount: str = Field(description="Amount x 100, digits only (VND 1,378,500 is 137850000).")
    vnp_TxnRef: str = Field(description="The payment id (payment_id).")
    vnp_ResponseCode: str = Field(description="00 = success; anything else is a failure (24 = cancelled by the "
                                  "customer).")
    vnp_TransactionStatus: str | None = Field(default=None, description="00 = success, 02 = error; when present it "
                                              "must agree with vnp_ResponseCode.")
    vnp_TransactionNo: str | None = Field(default=None, description="The gateway's transaction number (kept as the "
                                          "bank reference).")
    vnp_BankCode: str | None = Field(default=None, description="The payer's bank (informative only).")
    vnp_BankTranNo: str | None = Field(default=None, description="The bank's own transaction number.")
    vnp_CardType: str | None = Field(default=None, description="ATM, QRCODE, ...")
    vnp_PayDate: str | None = Field(default=None, description="yyyyMMddHHmmss in GMT+7.")
    vnp_OrderInfo: str | None = Field(default=None, description="Free text, ASCII without diacritics.")
    vnp_SecureHashType: str | None = Field(default=None, description="HmacSHA512 (not signed).")
    vnp_SecureHash: str = Field(description="Hex HMAC-SHA512 over the other non-empty vnp_ parameters sorted by "
                                "name, each quote_plus(name)=quote_plus(value), joined with &, without "
                                "vnp_SecureHash and vnp_SecureHashType.")


# A signature is valid for 5 minutes either side of its timestamp: an answer is kept a little longer than that.
REPLAY_WINDOW_S = 11 * 60


def _verify(call: Call, signers: list[tuple[str, list[str]]]) -> tuple[str, str]:
    """The signer (of those given: name and secrets) whose secret signed the request, and the webhook-id."""
    from chalicelib.aws.observability import logger
    from chalicelib.core.errors import invalid_signature
    from chalicelib.core.webhooks import SignatureError, verify_webhook

    reason = "no secret configured"
    for signer, secrets in signers:
        if not secrets:
            continue
        try:
            return signer, verify_webhook(call.raw(), call.request.headers or {}, secrets)
        except SignatureError as exc:
            reason = exc.reason
    logger().warning("webhook signature refused", extra={"reason": reason})
    call.ctx.count("CallbacksRefused")
    raise invalid_signature() from None


def _once(call: Call, scope: str, message_id: str, produce) -> dict:
    """Answer a replayed message (same sender, same webhook-id) as it was answered, without doing anything again."""
    from chalicelib.core.clock import epoch

    seen = call.ctx.replays.answer_for(scope, message_id)
    if seen is not None:
        call.ctx.count("WebhooksReplayed")
        return seen
    answer = produce()
    call.ctx.replays.remember(scope, message_id, answer, epoch(call.ctx.clock.now()) + REPLAY_WINDOW_S)
    return answer


@route(bp, "POST", "/v1/partners/notices", tag="partners", access=WEBHOOK, params=WEBHOOK_HEADERS,
       summary="Receive the tax notices of a land dossier (tax authority or province)",
       description="Signed per Standard Webhooks. `commune_code_system` is `gso` (standard 5-digit commune codes) "
       "or `tax` (tax authority codes, mapped through the administrative-unit map). `total_vnd` must equal the "
       "sum of the items. Re-sending the same version is `unchanged`; a higher version replaces an unpaid notice; "
       "changing a paid or in-payment notice is `409 NOTICE_LOCKED`. A batch is applied whole or not at all. "
       "The payer is sent an SMS for each accepted notice. A partner's secret may be limited to some provinces: "
       "a dossier of another province is `403 PARTNER_PROVINCE_FORBIDDEN`. A replay of a message already "
       "answered (same `webhook-id`, within the signature's validity) gets the same answer and changes nothing.",
       request=NoticeBatchIn, ok={200: Ok("Notices stored or recognised as already known.", IntakeResult)},
       problems={403: ("PARTNER_PROVINCE_FORBIDDEN",), 422: ("COMMUNE_CODE_SYSTEM_UNSUPPORTED",),
                 409: ("NOTICE_LOCKED", "NOTICE_VERSION_CONFLICT", "DOSSIER_ID_MISMATCH", "CONCURRENT_UPDATE"),
                 503: ("NOTICE_FORWARDING_UNAVAILABLE",)})
def receive_notices(call: Call):
    from chalicelib.payments.services.intake import ingest_notices

    partners = call.ctx.secrets.partners()
    partner, message_id = _verify(call, [(name, secrets) for name, secrets, _ in partners])
    provinces = next(scope for name, _, scope in partners if name == partner)
    return _once(call, f"partner:{partner}", message_id,
                 lambda: ingest_notices(call.ctx, call.body(), provinces).as_dict())


@route(bp, "POST", "/v1/partners/banks/{bank_code}/callbacks", tag="partners", access=WEBHOOK,
       summary="Receive a payment result from a bank (generic signed JSON)",
       description="Signed per Standard Webhooks with the bank's secret. The first result is `applied`; a repeat "
       "of an already applied result is `duplicate`; a different result for a final payment is "
       "`409 PAYMENT_ALREADY_FINAL`. Extra fields sent by the bank are ignored. A replay of a message already "
       "answered (same `webhook-id`, within the signature's validity) gets the same answer and changes nothing.",
       params=(Param("bank_code", description="Bank code of a bank using this protocol (e.g. BIDV, VCB)."),
               *WEBHOOK_HEADERS),
       request=CallbackIn, ok={200: Ok("The result was applied, or was already applied.", CallbackResult)},
       problems={404: ("BANK_UNKNOWN", "PAYMENT_NOT_FOUND"), 409: ("PAYMENT_ALREADY_FINAL", "CONCURRENT_UPDATE"),
                 422: ("AMOUNT_MISMATCH", "BANK_MISMATCH")})
def bank_callback(call: Call):
    from chalicelib.core.banks import bank_registry
    from chalicelib.core.errors import not_found
    from chalicelib.core.parsing import parse
    from chalicelib.payments.services.bank_results import BankResult, apply_bank_result

    bank = bank_registry().get(call.path["bank_code"].upper())
    if bank is None or bank.protocol != "standard_webhooks":
        raise not_found("BANK_UNKNOWN", "Ngân hàng không tồn tại hoặc không dùng giao thức này.")
    _, message_id = _verify(call, [(bank.code, call.ctx.secrets.bank_secrets(bank.code))])

    def apply() -> dict:
        cb = parse(CallbackIn, call.body())
        outcome = apply_bank_result(call.ctx, BankResult(
            bank_code=bank.code, payment_id=cb.payment_id, bank_txn_ref=cb.bank_txn_ref, amount_vnd=cb.amount_vnd,
            currency=cb.currency.upper(), success=cb.status == "SUCCESS",
            paid_at=cb.paid_at.isoformat() if cb.paid_at else None))
        return {"result": outcome.value}

    return _once(call, f"bank:{bank.code}", message_id, apply)


_IPN_CODES = {"PAYMENT_NOT_FOUND": "01", "PAYMENT_ALREADY_FINAL": "02", "AMOUNT_MISMATCH": "04",
              "BANK_MISMATCH": "04"}


@route(bp, "GET", "/v1/partners/banks/vnpay/ipn", tag="partners", access=GATEWAY, query=VnpayIpnQuery,
       summary="VNPay-style IPN (instant payment notification)",
       description="The gateway's own protocol: `vnp_SecureHash` is verified, `vnp_Amount` is the amount x 100, "
       "`vnp_TxnRef` the payment id and `vnp_ResponseCode` `00` a success. The answer is always HTTP 200 with "
       "the gateway's JSON `{RspCode, Message}`: `00` confirmed (also for a repeat of an IPN already applied: the "
       "same transaction number is applied once and answered the same), `01` order not found, `02` order already "
       "confirmed with another result, `04` invalid amount, `97` invalid signature, `99` other error. The bank "
       "of the payment is the payment's own (never `vnp_BankCode`, the payer's bank). Never problem+json, except "
       "for an unexpected server failure.",
       ok={200: Ok("The gateway's answer (outcome in RspCode).", VnpayIpnAnswer)})
def vnpay_ipn(call: Call):
    """Always HTTP 200 with the gateway's RspCode (its protocol), never problem+json."""
    from chalicelib.aws.observability import logger
    from chalicelib.core.errors import AppError
    from chalicelib.payments.adapters import vnpay
    from chalicelib.payments.services.bank_results import BankResult, apply_bank_result

    svc, params = call.ctx, call.query_params()
    if not vnpay.verify_ipn(params, svc.secrets.vnpay_hash_secret()):
        svc.count("CallbacksRefused")
        logger().warning("vnpay ipn signature refused")
        return vnpay.ipn_response(vnpay.RSP_INVALID_SIGNATURE)
    try:
        ipn = vnpay.parse_ipn(params)
    except vnpay.InvalidIpnError as exc:
        logger().warning("vnpay ipn unusable", extra={"reason": exc.reason})
        return vnpay.ipn_response(exc.rsp_code)
    # The gateway is the payment's own bank (vnp_BankCode names the payer's bank, never the gateway): any bank
    # speaking this protocol, checked against the payment by the use case.
    try:
        apply_bank_result(svc, BankResult(
            bank_code="", payment_id=ipn.payment_id, bank_txn_ref=ipn.bank_txn_ref or "",
            amount_vnd=ipn.amount_vnd, currency="VND", success=ipn.success,
            paid_at=ipn.paid_at.isoformat() if ipn.paid_at else None, gateway_protocol="vnpay_ipn"))
    except AppError as err:
        return vnpay.ipn_response(_IPN_CODES.get(err.code, vnpay.RSP_UNKNOWN_ERROR))
    # Applied now or already (the same transaction number again: the gateway retries an IPN whose answer it did not
    # get): the same answer both times. A different result for a final payment is 02 (PAYMENT_ALREADY_FINAL).
    return vnpay.ipn_response(vnpay.RSP_CONFIRM_SUCCESS)
