"""Refunds for operators (M14 §3): list, read, request, approve (a second operator), reject, send again.
Role: `operator`. Thin: token -> operator subject, body -> use case -> JSON."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.routing import Call, Ok, Param, Reply, bearer, route
from chalicelib.reconciliation.schemas import RefundPage, RefundView
from chalicelib.reconciliation.services.refunds import DecisionIn, RefundIn, RejectIn

bp = Blueprint(__name__)
TAG = "reconciliation"
OPERATOR = bearer("operator")
REFUND_ID = Param("refund_id", description="RFD + a ULID.",
                  schema={"type": "string", "pattern": "^RFD[0-9A-HJKMNP-TV-Z]{26}$"})
NOT_FOUND = {404: ("REFUND_NOT_FOUND",)}
ROLE = "Role: `operator`. "


class RefundsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    state: Literal["REFUND_REQUESTED", "REFUND_APPROVED", "REFUNDED", "REFUND_FAILED", "REFUND_REJECTED"] = Field(
        default="REFUND_REQUESTED", description="The list of one state (default: those awaiting approval).")
    bank_code: str | None = Field(default=None, min_length=2, max_length=10)
    payment_id: str | None = Field(default=None, min_length=1, max_length=64)
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, min_length=1, max_length=2000, description="next_cursor of the "
                               "previous page.")


def _operator(call: Call) -> str:
    return call.principal.subject


@route(bp, "GET", "/v1/operator/refunds", tag=TAG, access=OPERATOR, query=RefundsQuery,
       summary="List refunds by state, optionally of one bank or one payment (newest first, paginated)",
       description=ROLE + "Default state REFUND_REQUESTED: the requests awaiting a second operator's approval.",
       ok={200: Ok("A page.", RefundPage)}, problems={422: ("CURSOR_INVALID",)})
def list_refunds(call: Call):
    from chalicelib.reconciliation.services.refunds import list_refunds as do_list

    q = call.query()
    return do_list(call.ctx, q.state, q.bank_code, q.payment_id, q.limit, q.cursor)


@route(bp, "GET", "/v1/operator/refunds/{refund_id}", tag=TAG, access=OPERATOR, params=(REFUND_ID,),
       summary="A refund with its audit trail", description=ROLE, ok={200: Ok("The refund.", RefundView)},
       problems=NOT_FOUND)
def get_refund(call: Call):
    from chalicelib.reconciliation.services.refunds import get_refund as do_get
    from chalicelib.reconciliation.services.refunds import view

    return view(do_get(call.ctx, call.path["refund_id"]))


@route(bp, "POST", "/v1/operator/refunds", tag=TAG, access=OPERATOR, request=RefundIn,
       summary="Request a refund of a bank transaction that took the money twice",
       description=ROLE + "Only a transaction of a payment marked `refund_required` (a double payment, or a "
       "DUPLICATE_AT_BANK settlement line applied to it) can be refunded, and never for more than the bank took "
       "for it less its other refunds (`422 REFUND_AMOUNT_EXCEEDS_TAKEN`, with `refundable_vnd`). Another operator "
       "must approve it.",
       ok={201: Ok("The refund, REFUND_REQUESTED.", RefundView)},
       problems={404: ("PAYMENT_NOT_FOUND",), 409: ("REFUND_NOT_REQUIRED", "CONCURRENT_UPDATE"),
                 422: ("REFUND_AMOUNT_EXCEEDS_TAKEN",)})
def request_refund(call: Call):
    from chalicelib.reconciliation.services.refunds import request_refund_from, view

    return Reply(view(request_refund_from(call.ctx, call.body(), _operator(call))), 201)


@route(bp, "POST", "/v1/operator/refunds/{refund_id}/approve", tag=TAG, access=OPERATOR, params=(REFUND_ID,),
       request=DecisionIn,
       summary="Approve a refund (a different operator than its requester), then send it to the bank",
       description=ROLE + "The requester cannot approve their own request (`403 REFUND_SELF_APPROVAL`). The refund "
       "is sent at once with its refund_id as the bank's idempotency key: the answer is REFUNDED, REFUND_FAILED "
       "(the bank refused), or still REFUND_APPROVED when the bank did not answer (sent again by the schedule, or "
       "with `/send`, with the same id: never refunded twice).",
       ok={200: Ok("The refund after the first send.", RefundView)},
       problems={**NOT_FOUND, 403: ("REFUND_SELF_APPROVAL",),
                 409: ("REFUND_NOT_PENDING", "REFUND_STATE_CHANGED", "REFUND_SEND_IN_PROGRESS",
                       "CONCURRENT_UPDATE")})
def approve_refund(call: Call):
    from chalicelib.reconciliation.services.refunds import approve_refund as do_approve
    from chalicelib.reconciliation.services.refunds import view

    return view(do_approve(call.ctx, call.path["refund_id"], _operator(call), call.body()))


@route(bp, "POST", "/v1/operator/refunds/{refund_id}/reject", tag=TAG, access=OPERATOR, params=(REFUND_ID,),
       request=RejectIn, summary="Reject a refund request (with a note)",
       description=ROLE + "Any operator, the requester included (withdrawing a request). What it held of the "
       "transaction becomes refundable again.",
       ok={200: Ok("The refund, REFUND_REJECTED.", RefundView)},
       problems={**NOT_FOUND, 409: ("REFUND_NOT_PENDING", "REFUND_STATE_CHANGED", "CONCURRENT_UPDATE")})
def reject_refund(call: Call):
    from chalicelib.reconciliation.services.refunds import reject_refund as do_reject
    from chalicelib.reconciliation.services.refunds import view

    return view(do_reject(call.ctx, call.path["refund_id"], _operator(call), call.body()))


@route(bp, "POST", "/v1/operator/refunds/{refund_id}/send", tag=TAG, access=OPERATOR, params=(REFUND_ID,),
       summary="Send an approved refund to the bank again (same refund id)",
       description=ROLE + "For a refund the bank did not answer. One sender at a time "
       "(`409 REFUND_SEND_IN_PROGRESS`). No body.",
       ok={200: Ok("The refund after this send.", RefundView)},
       problems={**NOT_FOUND, 409: ("REFUND_NOT_SENDABLE", "REFUND_SEND_IN_PROGRESS", "REFUND_STATE_CHANGED",
                                    "CONCURRENT_UPDATE")})
def send_refund(call: Call):
    from chalicelib.reconciliation.services.refunds import send_refund as do_send
    from chalicelib.reconciliation.services.refunds import view

    return view(do_send(call.ctx, call.path["refund_id"], _operator(call)))
