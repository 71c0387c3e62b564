"""Citizen endpoints of the payment loop: lookup and payments (M2, M3). Anonymous, or with a citizen's token."""
from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.routing import ANYONE, Call, Ok, Param, Reply, optional_bearer, route
from chalicelib.payments.schemas import BankList, LookupResult, PaymentCreated, PaymentReturnView, PaymentView
from chalicelib.payments.services.lookup import LookupIn
from chalicelib.payments.services.payment_requests import PaymentIn

bp = Blueprint(__name__)
CITIZEN = optional_bearer("citizen")
PAYMENT_ID = Param("payment_id", description="The payment id returned by POST /v1/payments.",
                   schema={"type": "string", "pattern": "^PAY[A-Z][0-9]{2}[0-9A-HJKMNP-TV-Z]{26}$"})
CLIENT_SECRET = Param("X-Client-Secret", "header", required=False,
                      description="The payment's access secret (client_secret of POST /v1/payments). Required unless "
                      "the request carries the token of the signed-in citizen who started the payment.",
                      schema={"type": "string", "pattern": "^[0-9a-f]{40}$"})
IDEMPOTENCY_KEY = Param("Idempotency-Key", "header", required=False,
                        description="1 to 255 characters. The same key with the same body returns the first answer; "
                        "the same key with a different body is 409 IDEMPOTENCY_KEY_REUSED. Scoped to the signed-in "
                        "citizen.", schema={"type": "string", "minLength": 1, "maxLength": 255})


def _citizen(call: Call) -> str | None:
    return call.principal.subject if call.principal is not None else None


@route(bp, "GET", "/v1/banks", tag="citizens", access=ANYONE, cache_control="public, max-age=300",
       summary="The collecting banks a citizen can pay at (names, short names, single sign-on)",
       description="In the order the payment page lists them. `single_sign_on` banks pay straight from a linked "
       "account for a signed-in citizen (`403 BANK_ACCOUNT_NOT_LINKED` without a link); anyone else goes through "
       "the bank's internet-banking login.",
       ok={200: Ok("The banks.", BankList)})
def list_banks(call: Call):
    from chalicelib.payments.services.banks import list_banks as do_list

    return do_list(call.ctx)


def _client_ip(call: Call) -> str | None:
    identity = (getattr(call.request, "context", None) or {}).get("identity") or {}
    return identity.get("sourceIp") or None


class VnpayReturnQuery(BaseModel):
    """The query the VNPay-style gateway puts on the return URL: the IPN's fields and signature."""

    model_config = ConfigDict(extra="allow")
    # Documented forms only (json_schema_extra): whatever else comes back is refused as RETURN_INVALID, as before.
    vnp_TxnRef: str = Field(description="The payment id; must be the one in the path.",
                            json_schema_extra={"pattern": PAYMENT_ID.schema["pattern"]})
    vnp_Amount: str = Field(description="Amount x 100.", json_schema_extra={"pattern": "^[1-9][0-9]{0,16}00$"})
    vnp_ResponseCode: str = Field(description="00 success; 24 cancelled by the payer; ...",
                                  json_schema_extra={"pattern": "^[0-9]{2}$"})
    vnp_TransactionStatus: str | None = Field(default=None, description="00 success, 02 error.")
    vnp_SecureHash: str = Field(description="HMAC-SHA512 over the other vnp_ parameters, as for the IPN.")


@route(bp, "POST", "/v1/lookup", tag="citizens", access=ANYONE, request=LookupIn,
       summary="Look up the tax notices of a dossier (tra cứu nghĩa vụ tài chính)",
       description="By dossier code and ID number (CCCD/CMND). An unknown dossier and a dossier with another ID "
       "number give the same `404 DOSSIER_NOT_FOUND`. After 5 wrong guesses a dossier code (known or not) waits "
       "30 s before the next try, doubling with each further failure up to an hour: `429 LOOKUP_TOO_MANY_ATTEMPTS` "
       "with Retry-After.",
       ok={200: Ok("The dossier's property and notices, with their payment status.", LookupResult)},
       problems={404: ("DOSSIER_NOT_FOUND",), 429: ("LOOKUP_TOO_MANY_ATTEMPTS",)})
def lookup(call: Call):
    from chalicelib.payments.services.lookup import lookup as do_lookup

    return do_lookup(call.ctx, call.body())


_PAGE = Ok("The lookup page: the result, or the form with the problem's messages.",
            content_type="text/html; charset=utf-8", schema={"type": "string"})


@route(bp, "POST", "/v1/lookup/page", tag="citizens", access=ANYONE,
       summary="The lookup as an HTML page, for a browser without JavaScript (the site's form posts here)",
       description="Form fields `dossier_code` and `id_number` (application/x-www-form-urlencoded). The same use "
       "case and limits as POST /v1/lookup; its problems (404, 413, 422, 429) come back as the form again with "
       "their Vietnamese messages, answered 200 as a form page is (every 4xx of this API stays problem+json). "
       "Read-only: paying needs the site's script.",
       ok={200: _PAGE})
def lookup_page(call: Call):
    from urllib.parse import parse_qs

    from chalicelib.core.errors import AppError
    from chalicelib.payments.routes.lookup_page import render
    from chalicelib.payments.services.lookup import lookup as do_lookup

    html_type = {"Content-Type": "text/html; charset=utf-8"}
    values: dict[str, str] = {}
    try:
        try:
            form = parse_qs(call.raw().decode("utf-8", errors="replace"), max_num_fields=10)
        except ValueError:  # more fields than a lookup form has: treated as an empty form (422 below)
            form = {}
        values = {k: form.get(k, [""])[0] for k in ("dossier_code", "id_number")}
        page = render(values, result=do_lookup(call.ctx, values))
    except AppError as err:
        if err.status not in (404, 413, 422, 429):
            raise
        page = render(values, problem=err)
    return Reply(page, 200, headers=html_type, content_type="text/html; charset=utf-8")


@route(bp, "POST", "/v1/payments", tag="citizens", access=CITIZEN, request=PaymentIn, params=(IDEMPOTENCY_KEY,),
       summary="Start paying one notice at a bank",
       description="Creates a payment request for one notice and answers where to send the citizen. The bearer "
       "token is optional; with it, a single-sign-on bank pays directly from the citizen's linked account "
       "(`403 BANK_ACCOUNT_NOT_LINKED` without a link) and only that citizen may cancel. `Idempotency-Key`: the "
       "same key with the same body returns the first answer; with a different body, "
       "`409 IDEMPOTENCY_KEY_REUSED`.",
       ok={201: Ok("Payment created (or the first answer replayed for the same Idempotency-Key).", PaymentCreated)},
       problems={400: ("IDEMPOTENCY_KEY_INVALID",), 403: ("BANK_ACCOUNT_NOT_LINKED",),
                 404: ("DOSSIER_NOT_FOUND", "NOTICE_NOT_FOUND"),
                 409: ("NOTICE_ALREADY_PAID", "PAYMENT_IN_PROGRESS", "IDEMPOTENCY_KEY_REUSED",
                       "TEST_DOSSIER_NOT_PAYABLE"),
                 422: ("RETURN_URL_NOT_ALLOWED",), 429: ("LOOKUP_TOO_MANY_ATTEMPTS",)})
def create_payment(call: Call):
    from chalicelib.payments.services.payment_requests import initiate_payment

    status, body = initiate_payment(call.ctx, call.body(), call.header("idempotency-key"), _citizen(call),
                                    _client_ip(call))
    return Reply(body, status)


@route(bp, "GET", "/v1/payments/{payment_id}", tag="citizens", access=CITIZEN, params=(PAYMENT_ID, CLIENT_SECRET),
       summary="Read a payment",
       description="With the payment's access secret (X-Client-Secret), or the token of the citizen who started it. "
       "A wrong secret is answered as an unknown payment. While the payment is PENDING_BANK (the return page "
       "polls this after the bank), the bank is asked for its status at most once per 30 s per payment, with a "
       "short timeout: a \"paid\" answer is applied (and receipted) at once; a bank that does not answer changes "
       "nothing the citizen sees.",
       ok={200: Ok("The payment; `receipt_id` once it is PAID.", PaymentView)},
       problems={401: ("CLIENT_SECRET_REQUIRED",), 404: ("PAYMENT_NOT_FOUND",)})
def get_payment(call: Call):
    from chalicelib.payments.services.payment_requests import get_payment as do_get

    return do_get(call.ctx, call.path["payment_id"], call.header("x-client-secret"), _citizen(call))


@route(bp, "POST", "/v1/payments/{payment_id}/cancel", tag="citizens", access=CITIZEN,
       params=(PAYMENT_ID, CLIENT_SECRET),
       summary="Cancel a payment before paying at the bank",
       description="The notice becomes payable again at once. A payment started by a signed-in citizen can only "
       "be cancelled with that citizen's token, an anonymous one with its access secret (X-Client-Secret). "
       "Cancelling a cancelled payment answers it again. No request body.",
       ok={200: Ok("The cancelled payment.", PaymentView)},
       problems={401: ("CLIENT_SECRET_REQUIRED",), 403: ("PAYMENT_NOT_OWNED",), 404: ("PAYMENT_NOT_FOUND",),
                 409: ("PAYMENT_NOT_CANCELLABLE", "PAYMENT_STATE_CHANGED")})
def cancel_payment(call: Call):
    from chalicelib.payments.services.payment_requests import cancel_payment as do_cancel

    return do_cancel(call.ctx, call.path["payment_id"], _citizen(call), call.header("x-client-secret"))


@route(bp, "GET", "/v1/payments/{payment_id}/vnpay-return", tag="citizens", access=CITIZEN,
       params=(PAYMENT_ID, CLIENT_SECRET), query=VnpayReturnQuery,
       summary="Verify the VNPay-style gateway's return URL, then read the payment",
       description="The citizen's result page sends the query the gateway put on its return URL (`vnp_ReturnUrl`). "
       "The signature is verified before anything is read: a bad one is `400 RETURN_SIGNATURE_INVALID` and "
       "nothing is shown or changed. The return URL never changes a payment (anyone can replay a browser URL): "
       "the payment's state comes from the IPN and the status query, which this read may trigger as "
       "`GET /v1/payments/{payment_id}` does. Same access as that read (X-Client-Secret or the payer's token).",
       ok={200: Ok("The payment, with what the gateway told the browser.", PaymentReturnView)},
       problems={400: ("RETURN_SIGNATURE_INVALID", "RETURN_INVALID"), 401: ("CLIENT_SECRET_REQUIRED",),
                 404: ("PAYMENT_NOT_FOUND",)})
def vnpay_return(call: Call):
    from chalicelib.core.errors import AppError
    from chalicelib.payments.adapters import vnpay
    from chalicelib.payments.services.payment_requests import get_payment as do_get

    params = call.query_params()
    if not vnpay.verify_ipn(params, call.ctx.secrets.vnpay_hash_secret()):
        call.ctx.count("ReturnUrlsRefused")
        raise AppError("RETURN_SIGNATURE_INVALID", "Chữ ký của kết quả thanh toán không hợp lệ: đường dẫn đã bị "
                       "sửa đổi hoặc không do cổng thanh toán tạo ra.", 400, "Chữ ký không hợp lệ")
    try:
        back = vnpay.parse_ipn(params)
    except vnpay.InvalidIpnError:
        back = None
    if back is None or back.payment_id != call.path["payment_id"]:
        raise AppError("RETURN_INVALID", "Kết quả thanh toán không thuộc giao dịch này hoặc không đọc được.", 400)
    view = do_get(call.ctx, call.path["payment_id"], call.header("x-client-secret"), _citizen(call))
    return {**view, "gateway_result": "SUCCESS" if back.success else "FAILED",
            "gateway_response_code": back.response_code}
