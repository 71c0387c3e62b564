"""Citizen endpoints of the payment loop: lookup and payments (M2, M3). Anonymous, or with a citizen's token."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import ANYONE, Call, Ok, Param, Reply, optional_bearer, route
from chalicelib.payments.schemas import LookupResult, PaymentCreated, PaymentView
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

    status, body = initiate_payment(call.ctx, call.body(), call.header("idempotency-key"), _citizen(call))
    return Reply(body, status)


@route(bp, "GET", "/v1/payments/{payment_id}", tag="citizens", access=CITIZEN, params=(PAYMENT_ID, CLIENT_SECRET),
       summary="Read a payment",
       description="With the payment's access secret (X-Client-Secret), or the token of the citizen who started it. "
       "A wrong secret is answered as an unknown payment.",
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
