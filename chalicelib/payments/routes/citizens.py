"""Citizen endpoints: lookup, payments, receipts (M2, M3, M5)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import (
    ACCEPTED_CONTENT_TYPES,
    endpoint,
    header,
    json_response,
    parse_json,
    principal,
    raw_body,
)

bp = Blueprint(__name__)


def _body():
    from chalicelib.api.wiring import context

    svc = context()
    return svc, parse_json(raw_body(bp.current_request, svc.settings.max_body_bytes), bp.current_request)


def _citizen_sub(required: bool = False) -> str | None:
    from chalicelib.core.errors import forbidden
    from chalicelib.identity.domain import Role

    p = principal(bp.current_request, required=required)
    if p is None:
        return None
    if not p.has_role(Role.CITIZEN):
        raise forbidden("ROLE_FORBIDDEN", "Chức năng này chỉ dành cho công dân.")
    return p.subject


@bp.route("/v1/lookup", methods=["POST"], content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def lookup():
    from chalicelib.payments.services.lookup import lookup as do_lookup

    svc, data = _body()
    return json_response(do_lookup(svc, data))


@bp.route("/v1/payments", methods=["POST"], content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def create_payment():
    from chalicelib.payments.services.payment_requests import initiate_payment

    citizen = _citizen_sub()
    svc, data = _body()
    status, body = initiate_payment(svc, data, header(bp.current_request, "idempotency-key"), citizen)
    return json_response(body, status)


@bp.route("/v1/payments/{payment_id}", methods=["GET"])
@endpoint(bp)
def get_payment(payment_id: str):
    from chalicelib.api.wiring import context
    from chalicelib.payments.services.payment_requests import get_payment as do_get

    return json_response(do_get(context(), payment_id))


@bp.route("/v1/payments/{payment_id}/cancel", methods=["POST"], content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def cancel_payment(payment_id: str):
    from chalicelib.api.wiring import context
    from chalicelib.payments.services.payment_requests import (
        cancel_payment as do_cancel,
    )

    return json_response(do_cancel(context(), payment_id, _citizen_sub()))


@bp.route("/v1/receipts/{receipt_id}", methods=["GET"])
@endpoint(bp)
def get_receipt(receipt_id: str):
    from chalicelib.api.wiring import context
    from chalicelib.receipts.services import receipt_view

    return json_response(receipt_view(context(), receipt_id))


@bp.route("/v1/receipts/{receipt_id}/pdf", methods=["GET"])
@endpoint(bp)
def get_receipt_pdf(receipt_id: str):
    from chalicelib.api.wiring import context
    from chalicelib.receipts.services import receipt_pdf

    pdf, number = receipt_pdf(context(), receipt_id)
    return Response(pdf, headers={"Content-Type": "application/pdf",
                                  "Content-Disposition": f'inline; filename="bien-lai-{number}.pdf"'},
                    status_code=200)
