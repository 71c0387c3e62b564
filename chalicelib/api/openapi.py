"""The OpenAPI 3.1 document of the HTTP API, generated from the Chalice route table plus the registry below.

Every route in ``app.routes`` is emitted: the paths, methods, path parameters and operation ids come from Chalice, the
rest (summary, request and response schemas, refusal codes, headers, security) from ``REGISTRY``. A route without a
registry entry still appears, as a generic operation marked ``x-undocumented`` (the unit test refuses those, so a new
route cannot ship undocumented). Request schemas are the pydantic models the services validate with; response schemas
are the small models below, written to match what the services return (the unit test checks them against real
answers).

Regenerate the committed copy with ``python -m chalicelib.api.openapi --write openapi.json``.

Imported lazily (by ``GET /openapi.json`` and the script): nothing here loads the services or AWS clients; the request
models are imported by name when the document is built.
"""
from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


# --------------------------------------------------------------------------------------------------------------------
# Response models (documentation only: the services build plain dicts)
# --------------------------------------------------------------------------------------------------------------------

def _omitted_when_none(schema: dict[str, Any]) -> None:
    schema.pop("default", None)
    branches = [b for b in schema.get("anyOf", ()) if b != {"type": "null"}]
    if "anyOf" in schema and len(branches) == 1:
        del schema["anyOf"]
        schema.update(branches[0])


def _absent(description: str) -> Any:
    """A field that is left out of the answer (never ``null``) when it does not apply: not required, not nullable."""
    return Field(default=None, description=description, json_schema_extra=_omitted_when_none)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


PaymentStateName = Literal["CREATED", "PENDING_BANK", "PAID", "FAILED", "EXPIRED", "CANCELLED"]
NoticeStatusName = Literal["payable", "in_payment", "paid"]


class Health(_Out):
    status: Literal["ok"]
    stage: str = Field(description="Deployment stage (local, dev, test, prod, ...).")


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
    parcel_number: str | None = _absent("Parcel number (số thửa).")
    map_sheet_number: str | None = _absent("Map sheet number (số tờ bản đồ).")
    area_m2: float | None = _absent("Area in square metres.")
    land_use_certificate: str | None = _absent("Land use right certificate number (số GCN).")


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
    receipt_id: str | None = _absent("The electronic receipt (biên lai điện tử), once the payment is PAID.")
    paid_at: datetime | None = _absent("When the bank reported the payment, once PAID.")
    refund_required: bool | None = _absent(
        "true when the bank reported money taken for a payment that was already over on our side."
    )


class PaymentCreated(PaymentView):
    redirect_url: str = Field(description="Where to send the citizen: the bank's payment page.")


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


class Receipt(_Out):
    """An electronic receipt (biên lai thu tiền điện tử) for one paid notice."""

    receipt_id: str
    receipt_number: str = Field(description="Number within the series, 7 digits.")
    template_symbol: str = Field(description="Receipt template symbol (ký hiệu mẫu).")
    series: str = Field(description="Receipt series (ký hiệu biên lai).")
    collecting_unit_code: str
    collecting_unit_name: str
    payer_name: str
    dossier_code: str
    notice_number: str
    items: list[NoticeItem]
    amount_vnd: int
    amount_in_words: str = Field(description="The amount in Vietnamese words (số tiền bằng chữ).")
    currency: Literal["VND"]
    bank_code: str
    bank_name: str
    bank_txn_ref: str
    paid_at: datetime
    issued_at: datetime
    payment_id: str
    delivery_state: str = Field(description="Forwarding to the province's one-stop system (PENDING, ...).")


class ProblemFieldError(_Out):
    field: str = Field(description="Dotted path of the field in the request body (e.g. notices.0.total_vnd).")
    code: str = Field(description="Stable UPPER_SNAKE code.")
    message: str = Field(description="Vietnamese message, for people.")


class Problem(BaseModel):
    """RFC 9457 problem details. Some codes add members of their own (e.g. notice_number, state)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI identifying the problem type.", json_schema_extra={"format": "uri"})
    title: str = Field(description="Short Vietnamese summary.")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="Vietnamese explanation, for people.")
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="Stable UPPER_SNAKE code, for programs.")
    instance: str | None = _absent("The request path.")
    errors: list[ProblemFieldError] | None = _absent("Field errors (VALIDATION_FAILED).")


RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    Health, IntakeResult, LookupResult, PaymentView, PaymentCreated, CallbackResult, VnpayIpnAnswer, Receipt, Problem,
)


# --------------------------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ok:
    """A success response: a model (class, or "module:Class"), a raw schema, or nothing."""

    description: str
    model: type[BaseModel] | str | None = None
    content_type: str = JSON
    schema: dict[str, Any] | None = None
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Op:
    summary: str
    tag: str
    description: str = ""
    request: type[BaseModel] | str | None = None  # request body model ("module:Class" is imported on build)
    ok: dict[int, Ok] = field(default_factory=dict)
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)  # status -> problem codes
    auth: Literal["none", "bearer_optional", "bearer", "webhook"] = "none"
    parameters: tuple[dict[str, Any], ...] = ()
    path_params: dict[str, str] = field(default_factory=dict)  # name -> description


_BODY_ERRORS = {400: ("BODY_REQUIRED", "BODY_NOT_JSON", "BODY_NOT_OBJECT"), 413: ("PAYLOAD_TOO_LARGE",),
                415: ("UNSUPPORTED_MEDIA_TYPE",), 422: ("VALIDATION_FAILED",)}
_TOKEN_ERRORS = {401: ("TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_EXPIRED"), 403: ("ROLE_FORBIDDEN",)}
_SIGNATURE_ERRORS = {401: ("INVALID_SIGNATURE",)}
_ALWAYS = {500: ("INTERNAL_ERROR",)}


def _errors(*groups: dict[int, tuple[str, ...]]) -> dict[int, tuple[str, ...]]:
    out: dict[int, tuple[str, ...]] = {}
    for group in (*groups, _ALWAYS):
        for status, codes in group.items():
            out[status] = tuple(dict.fromkeys((*out.get(status, ()), *codes)))
    return out


_IPN_PARAMS = (
    ("vnp_TmnCode", True, "Merchant (terminal) code of the portal at the gateway."),
    ("vnp_Amount", True, "Amount x 100, digits only (VND 1,378,500 is 137850000)."),
    ("vnp_TxnRef", True, "The payment id (payment_id)."),
    ("vnp_ResponseCode", True, "00 = success; anything else is a failure (24 = cancelled by the customer)."),
    ("vnp_TransactionStatus", False, "00 = success, 02 = error; when present it must agree with vnp_ResponseCode."),
    ("vnp_TransactionNo", False, "The gateway's transaction number (kept as the bank reference)."),
    ("vnp_BankCode", False, "Bank that took the payment."),
    ("vnp_BankTranNo", False, "The bank's own transaction number."),
    ("vnp_CardType", False, "ATM, QRCODE, ..."),
    ("vnp_PayDate", False, "yyyyMMddHHmmss in GMT+7."),
    ("vnp_OrderInfo", False, "Free text, ASCII without diacritics."),
    ("vnp_SecureHashType", False, "HmacSHA512 (not signed)."),
    ("vnp_SecureHash", True, "Hex HMAC-SHA512 over the other non-empty vnp_ parameters sorted by name, each "
                             "quote_plus(name)=quote_plus(value), joined with &, without vnp_SecureHash and "
                             "vnp_SecureHashType."),
)

_IDEMPOTENCY_KEY = {"$ref": "#/components/parameters/IdempotencyKey"}
_WEBHOOK_HEADERS = tuple({"$ref": f"#/components/parameters/{name}"}
                         for name in ("WebhookId", "WebhookTimestamp", "WebhookSignature"))

REGISTRY: dict[tuple[str, str], Op] = {
    ("POST", "/v1/partners/notices"): Op(
        summary="Receive the tax notices of a land dossier (tax authority or province)",
        tag="partners",
        description="Signed per Standard Webhooks. `commune_code_system` is `gso` (standard 5-digit commune codes) "
        "or `tax` (tax authority codes, mapped through the administrative-unit map). `total_vnd` must equal the "
        "sum of the items. Re-sending the same version is `unchanged`; a higher version replaces an unpaid notice; "
        "changing a paid or in-payment notice is `409 NOTICE_LOCKED`. A batch is applied whole or not at all. "
        "The payer is sent an SMS for each accepted notice.",
        request="chalicelib.payments.domain.notices:NoticeBatchIn",
        ok={200: Ok("Notices stored or recognised as already known.", IntakeResult)},
        errors=_errors(_BODY_ERRORS, _SIGNATURE_ERRORS,
                       {409: ("NOTICE_LOCKED", "NOTICE_VERSION_CONFLICT", "DOSSIER_ID_MISMATCH", "CONCURRENT_UPDATE"),
                        503: ("NOTICE_FORWARDING_UNAVAILABLE",)}),
        auth="webhook",
    ),
    ("POST", "/v1/partners/banks/{bank_code}/callbacks"): Op(
        summary="Receive a payment result from a bank (generic signed JSON)",
        tag="partners",
        description="Signed per Standard Webhooks with the bank's secret. The first result is `applied`; a repeat "
        "of an already applied result is `duplicate`; a different result for a final payment is "
        "`409 PAYMENT_ALREADY_FINAL`. Extra fields sent by the bank are ignored.",
        request="chalicelib.payments.routes.partners:CallbackIn",
        ok={200: Ok("The result was applied, or was already applied.", CallbackResult)},
        errors=_errors(_BODY_ERRORS, _SIGNATURE_ERRORS,
                       {404: ("BANK_UNKNOWN", "PAYMENT_NOT_FOUND"),
                        409: ("PAYMENT_ALREADY_FINAL", "CONCURRENT_UPDATE"),
                        422: ("AMOUNT_MISMATCH", "BANK_MISMATCH")}),
        auth="webhook",
        path_params={"bank_code": "Bank code of a bank using this protocol (e.g. BIDV, VCB)."},
    ),
    ("GET", "/v1/partners/banks/vnpay/ipn"): Op(
        summary="VNPay-style IPN (instant payment notification)",
        tag="partners",
        description="The gateway's own protocol: `vnp_SecureHash` is verified, `vnp_Amount` is the amount x 100, "
        "`vnp_TxnRef` the payment id and `vnp_ResponseCode` `00` a success. The answer is always HTTP 200 with "
        "the gateway's JSON `{RspCode, Message}`: `00` confirmed, `01` order not found, `02` order already "
        "confirmed, `04` invalid amount, `97` invalid signature, `99` other error. Never problem+json, except "
        "for an unexpected server failure.",
        ok={200: Ok("The gateway's answer (outcome in RspCode).", VnpayIpnAnswer)},
        errors=_errors(),
        parameters=tuple(
            {"name": name, "in": "query", "required": required, "description": text, "schema": {"type": "string"}}
            for name, required, text in _IPN_PARAMS
        ),
    ),
    ("POST", "/v1/lookup"): Op(
        summary="Look up the tax notices of a dossier (tra cứu nghĩa vụ tài chính)",
        tag="citizens",
        description="By dossier code and ID number (CCCD/CMND). An unknown dossier and a dossier with another ID "
        "number give the same `404 DOSSIER_NOT_FOUND`.",
        request="chalicelib.payments.services.lookup:LookupIn",
        ok={200: Ok("The dossier's property and notices, with their payment status.", LookupResult)},
        errors=_errors(_BODY_ERRORS, {404: ("DOSSIER_NOT_FOUND",)}),
    ),
    ("POST", "/v1/payments"): Op(
        summary="Start paying one notice at a bank",
        tag="citizens",
        description="Creates a payment request for one notice and answers where to send the citizen. The bearer "
        "token is optional; with it, a single-sign-on bank pays directly from the citizen's linked account "
        "(`403 BANK_ACCOUNT_NOT_LINKED` without a link) and only that citizen may cancel. `Idempotency-Key`: the "
        "same key with the same body returns the first answer; with a different body, "
        "`409 IDEMPOTENCY_KEY_REUSED`.",
        request="chalicelib.payments.services.payment_requests:PaymentIn",
        ok={201: Ok("Payment created (or the first answer replayed for the same Idempotency-Key).",
                    PaymentCreated)},
        errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS,
                       {400: ("IDEMPOTENCY_KEY_INVALID",), 403: ("BANK_ACCOUNT_NOT_LINKED",),
                        404: ("DOSSIER_NOT_FOUND", "NOTICE_NOT_FOUND"),
                        409: ("NOTICE_ALREADY_PAID", "PAYMENT_IN_PROGRESS", "IDEMPOTENCY_KEY_REUSED"),
                        422: ("RETURN_URL_NOT_ALLOWED",)}),
        auth="bearer_optional",
        parameters=(_IDEMPOTENCY_KEY,),
    ),
    ("GET", "/v1/payments/{payment_id}"): Op(
        summary="Read a payment",
        tag="citizens",
        ok={200: Ok("The payment; `receipt_id` once it is PAID.", PaymentView)},
        errors=_errors({404: ("PAYMENT_NOT_FOUND",)}),
        path_params={"payment_id": "The payment id returned by POST /v1/payments."},
    ),
    ("POST", "/v1/payments/{payment_id}/cancel"): Op(
        summary="Cancel a payment before paying at the bank",
        tag="citizens",
        description="The notice becomes payable again at once. A payment started by a signed-in citizen can only "
        "be cancelled with that citizen's token. Cancelling a cancelled payment answers it again. No request body.",
        ok={200: Ok("The cancelled payment.", PaymentView)},
        errors=_errors(_TOKEN_ERRORS, {403: ("PAYMENT_NOT_OWNED",), 404: ("PAYMENT_NOT_FOUND",),
                                       409: ("PAYMENT_NOT_CANCELLABLE", "PAYMENT_STATE_CHANGED")}),
        auth="bearer_optional",
        path_params={"payment_id": "The payment id returned by POST /v1/payments."},
    ),
    ("GET", "/v1/receipts/{receipt_id}"): Op(
        summary="Read an electronic receipt (biên lai điện tử)",
        tag="citizens",
        ok={200: Ok("The receipt data.", Receipt)},
        errors=_errors({404: ("RECEIPT_NOT_FOUND",)}),
        path_params={"receipt_id": "The receipt id (RCP...), from the paid payment's receipt_id."},
    ),
    ("GET", "/v1/receipts/{receipt_id}/pdf"): Op(
        summary="Download an electronic receipt as PDF",
        tag="citizens",
        ok={200: Ok("The receipt as a PDF document.", content_type="application/pdf",
                    schema={"type": "string", "contentMediaType": "application/pdf"},
                    headers={"Content-Disposition": {
                        "description": 'inline; filename="bien-lai-<receipt_number>.pdf"',
                        "schema": {"type": "string"}}})},
        errors=_errors({404: ("RECEIPT_NOT_FOUND",)}),
        path_params={"receipt_id": "The receipt id (RCP...), from the paid payment's receipt_id."},
    ),
    ("GET", "/v1/health"): Op(
        summary="Liveness check",
        tag="system",
        ok={200: Ok("The service answers.", Health)},
        errors=_errors(),
    ),
    ("GET", "/openapi.json"): Op(
        summary="This OpenAPI document",
        tag="system",
        ok={200: Ok("The OpenAPI 3.1 document of this API.",
                    schema={"type": "object", "description": "An OpenAPI 3.1 document."})},
        errors=_errors(),
    ),
}


# --------------------------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------------------------

_PROBLEM_REF = {"$ref": REF.format(model="Problem")}


def _model(ref: type[BaseModel] | str) -> type[BaseModel]:
    if isinstance(ref, str):
        module, _, name = ref.partition(":")
        return getattr(importlib.import_module(module), name)
    return ref


def _schemas(models: list[tuple[type[BaseModel], str]]) -> tuple[dict[tuple[type, str], dict], dict[str, Any]]:
    """JSON schemas of ``models`` (model, "validation" | "serialization"), nested ones collected as components."""
    from pydantic.json_schema import models_json_schema

    refs, defs = models_json_schema(models, ref_template=REF)
    return refs, defs.get("$defs", {})


def _path_params(path: str, op: Op | None) -> list[dict[str, Any]]:
    described = op.path_params if op else {}
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"},
             **({"description": described[name]} if name in described else {})}
            for name in re.findall(r"{([^}]+)}", path)]


def _problem_response(status: int, codes: tuple[str, ...]) -> dict[str, Any]:
    return {
        "description": "Refused (problem+json). code: " + ", ".join(codes) + ".",
        "content": {PROBLEM_JSON: {"schema": {
            "allOf": [_PROBLEM_REF],
            "properties": {"code": {"enum": list(codes)}, "status": {"const": status}},
        }}},
    }


def _operation(method: str, path: str, entry: Any, op: Op | None,
               schema_of: dict[tuple[type, str], dict]) -> dict[str, Any]:
    if op is None:
        return {
            "operationId": entry.view_name,
            "summary": entry.view_name,
            "description": "Not documented yet: add an entry to chalicelib.api.openapi.REGISTRY.",
            "tags": ["undocumented"],
            "x-undocumented": True,
            **({"parameters": _path_params(path, None)} if "{" in path else {}),
            "responses": {"default": {"description": "Undocumented answer."},
                          "500": _problem_response(500, ("INTERNAL_ERROR",))},
        }
    out: dict[str, Any] = {"operationId": entry.view_name, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    parameters = [*_path_params(path, op), *op.parameters]
    if op.auth == "webhook":
        parameters.extend(_WEBHOOK_HEADERS)
    if parameters:
        out["parameters"] = parameters
    if op.request is not None:
        if JSON not in entry.content_types:
            raise ValueError(f"{method} {path} documents a JSON body but the route does not accept {JSON}")
        out["requestBody"] = {"required": True,
                              "content": {JSON: {"schema": schema_of[(_model(op.request), "validation")]}}}
    if op.auth == "bearer_optional":
        out["security"] = [{}, {"bearerAuth": []}]
    elif op.auth == "bearer":
        out["security"] = [{"bearerAuth": []}]
    else:
        out["security"] = []
    responses: dict[str, Any] = {}
    for status, ok in op.ok.items():
        if ok.model is not None:
            schema = schema_of[(_model(ok.model), "serialization")]
        else:
            schema = ok.schema
        response: dict[str, Any] = {"description": ok.description}
        if schema is not None:
            response["content"] = {ok.content_type: {"schema": schema}}
        if ok.headers:
            response["headers"] = ok.headers
        responses[str(status)] = response
    for status, codes in sorted(op.errors.items()):
        responses[str(status)] = _problem_response(status, codes)
    out["responses"] = responses
    return out


def _components(schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemas": schemas,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "The citizen's access or ID token (RS256, from the portal's Cognito user pool; role "
                "`citizen`). An invalid token is always refused (401 TOKEN_INVALID / TOKEN_EXPIRED), never "
                "treated as anonymous.",
            },
        },
        "parameters": {
            "IdempotencyKey": {
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "1 to 255 characters. The same key with the same body returns the first answer; the "
                "same key with a different body is 409 IDEMPOTENCY_KEY_REUSED. Scoped to the signed-in citizen.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            },
            "WebhookId": {
                "name": "webhook-id", "in": "header", "required": True,
                "description": "Standard Webhooks message id (unique per message; the same on retries).",
                "schema": {"type": "string", "minLength": 1},
            },
            "WebhookTimestamp": {
                "name": "webhook-timestamp", "in": "header", "required": True,
                "description": "Standard Webhooks timestamp: unix seconds. More than 5 minutes away from the "
                "server's clock is 401 INVALID_SIGNATURE.",
                "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
            },
            "WebhookSignature": {
                "name": "webhook-signature", "in": "header", "required": True,
                "description": 'Standard Webhooks signature: `v1,<base64 HMAC-SHA256 of "{webhook-id}.'
                '{webhook-timestamp}.{raw body}">` under the partner secret `whsec_<base64>`; several '
                "space-separated signatures are allowed (key rotation). Bad or missing: 401 INVALID_SIGNATURE.",
                "schema": {"type": "string", "minLength": 1},
            },
        },
    }


# Blueprints of later features document their own routes: a module listed here may define `openapi_ops()`
# returning {(method, path): Op}, merged into REGISTRY when the document is built.
EXTENSION_MODULES = ("chalicelib.provinces.routes", "chalicelib.accounts.routes")


def registry() -> dict[tuple[str, str], Op]:
    import importlib

    merged = dict(REGISTRY)
    for name in EXTENSION_MODULES:
        ops = getattr(importlib.import_module(name), "openapi_ops", None)
        if ops is not None:
            merged.update(ops())
    return merged


def build_openapi(app: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of ``app`` (a Chalice app)."""
    registry_ = registry()
    routes = [(path, method, entry) for path, methods in sorted(app.routes.items())
              for method, entry in sorted(methods.items())]
    wanted: dict[tuple[type, str], None] = {(m, "serialization"): None for m in RESPONSE_MODELS}
    for path, method, _ in routes:
        op = registry_.get((method, path))
        if op is None:
            continue
        if op.request is not None:
            wanted[(_model(op.request), "validation")] = None
        for ok in op.ok.values():
            if ok.model is not None:
                wanted[(_model(ok.model), "serialization")] = None
    schema_of, schemas = _schemas(list(wanted))

    paths: dict[str, dict[str, Any]] = {}
    for path, method, entry in routes:
        paths.setdefault(path, {})[method.lower()] = _operation(
            method, path, entry, registry_.get((method, path)), schema_of)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Land financial obligations: online payment (Cổng Dịch vụ công quốc gia)",
            "version": API_VERSION,
            "description": "Online payment of land financial obligations (nghĩa vụ tài chính về đất đai) on the "
            "National Public Service Portal. Money is an integer number of VND in fields ending `_vnd`; times "
            "are RFC 3339 with offset. Errors are `application/problem+json` (RFC 9457) with a stable `code`. "
            "The fixed parts of the contract are described in API.md; this document is generated from the route "
            "table (`python -m chalicelib.api.openapi --write openapi.json`).",
        },
        "tags": [
            {"name": "partners", "description": "Signed calls from the tax authority, provinces and banks."},
            {"name": "citizens", "description": "Lookup, payment and receipts for citizens (anonymous or signed in)."},
            {"name": "system", "description": "Health and documentation."},
        ],
        "paths": paths,
        "components": _components(schemas),
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def load_app():
    """The deployed Chalice app, with the documentation blueprint registered (it may not be yet in app.py)."""
    import app as app_module
    from chalicelib.api import docs

    chalice_app = app_module.app
    if "/openapi.json" not in chalice_app.routes:
        chalice_app.register_blueprint(docs.bp)
    return chalice_app


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m chalicelib.api.openapi",
                                     description="Generate the OpenAPI 3.1 document of the HTTP API.")
    parser.add_argument("--write", metavar="FILE", help="write the document to FILE (default: print it)")
    args = parser.parse_args(argv)
    text = dumps(build_openapi(load_app()))
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    # Build from the importable module, not from __main__: one set of model classes, whatever the entry point.
    from chalicelib.api.openapi import main as _main

    raise SystemExit(_main())
