"""The OpenAPI document: committed copy current, every route documented, valid OpenAPI 3.1, API.md's fixed fields
present, and the response models in step with what the services really answer."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.api import openapi
from chalicelib.payments import schemas
from chalicelib.receipts.schemas import Receipt as ReceiptAnswer

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "openapi.json"


@pytest.fixture(scope="module")
def chalice_app():
    import app as app_module

    return app_module.app


@pytest.fixture(scope="module")
def document(chalice_app):
    return openapi.build_openapi(chalice_app)


def _routes(chalice_app):
    return {(method, path) for path, methods in chalice_app.routes.items() for method in methods}


def _resolve(document, node):
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        node = document["components"]["schemas"][name]
    return node


def _schema(document, name):
    return document["components"]["schemas"][name]


# --- the committed copy and the route table ---------------------------------------------------------------------------

def test_committed_document_is_current(document):
    assert COMMITTED.exists(), "run: python infra/openapi.py --write openapi.json"
    committed = COMMITTED.read_text(encoding="utf-8")
    assert json.loads(committed) == document, "stale: python infra/openapi.py --write openapi.json"
    assert committed == openapi.dumps(document), "regenerate openapi.json with the script (sorted keys, indent 2)"


def test_every_route_is_declared_beside_its_handler(chalice_app, document):
    from chalicelib.api.routing import spec_of

    routes = _routes(chalice_app)
    missing = sorted((m, p) for p, ms in chalice_app.routes.items() for m, e in ms.items()
                     if spec_of(e.view_function) is None)
    assert not missing, f"routes without a declaration (chalicelib.api.routing.route): {missing}"
    for path, methods in chalice_app.routes.items():
        for method, entry in methods.items():
            spec = spec_of(entry.view_function)
            assert (spec.method, spec.path) == (method, path)
    emitted = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert emitted == routes
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            entry = chalice_app.routes[path][method.upper()]
            assert not op.get("x-undocumented"), (method, path)
            assert op["operationId"] == entry.view_name
            assert op["summary"] and op["summary"] != entry.view_name
            assert "500" in op["responses"]


def test_unregistered_route_is_still_emitted_as_generic():
    from chalice import Chalice

    other = Chalice(app_name="probe")

    @other.route("/v1/something/{thing_id}", methods=["PUT"])
    def put_something(thing_id):  # pragma: no cover - never called
        return {}

    op = openapi.build_openapi(other)["paths"]["/v1/something/{thing_id}"]["put"]
    assert op["x-undocumented"] is True
    assert op["operationId"] == "put_something"
    assert op["parameters"] == [{"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}}]


def test_operation_ids_are_unique(document):
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_document_is_valid_openapi_3_1(document):
    validator = pytest.importorskip("openapi_spec_validator")
    from openapi_spec_validator import OpenAPIV31SpecValidator

    assert document["openapi"].startswith("3.1.")
    validator.validate(document, cls=OpenAPIV31SpecValidator)


def test_refs_all_resolve(document):
    import re

    text = json.dumps(document)
    for kind, name in set(re.findall(r'"#/components/(\w+)/([^"]+)"', text)):
        assert name in document["components"][kind], (kind, name)


def test_script_writes_the_document(tmp_path, document):
    out = tmp_path / "openapi.json"
    subprocess.run([sys.executable, "infra/openapi.py", "--write", str(out)], cwd=ROOT, check=True)
    assert json.loads(out.read_text(encoding="utf-8")) == document
    assert "Cổng Dịch vụ công" in out.read_text(encoding="utf-8")  # ensure_ascii=False


def test_module_import_is_light():
    # GET /openapi.json imports it lazily: no services, AWS clients, Chalice or request models at import time
    code = ("import json, sys, chalicelib.api.openapi; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('chalicelib', 'boto3', 'botocore', 'chalice', 'jwt', 'pynamodb'))))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    assert json.loads(loaded.stdout) == ["chalicelib", "chalicelib.api", "chalicelib.api.openapi"]


def test_served_at_openapi_json(chalice_app, document):
    from chalice.test import Client

    with Client(chalice_app) as client:
        r = client.http.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert json.loads(r.body) == document


# --- API.md's fixed contract ------------------------------------------------------------------------------------------

def _op(document, method, path):
    return document["paths"][path][method.lower()]


def _body_schema(document, method, path):
    return _resolve(document, _op(document, method, path)["requestBody"]["content"]["application/json"]["schema"])


def _ok_schema(document, method, path, status):
    return _resolve(document, _op(document, method, path)["responses"][str(status)]["content"]["application/json"]
                    ["schema"])


def test_fixed_request_fields(document):
    batch = _body_schema(document, "POST", "/v1/partners/notices")
    assert set(batch["properties"]) >= {"dossier_code", "id_number", "commune_code", "commune_code_system",
                                        "property", "notices"}
    assert batch["properties"]["commune_code_system"]["enum"] == ["gso", "tax"]
    notice = _resolve(document, batch["properties"]["notices"]["items"])
    assert set(notice["properties"]) >= {"notice_number", "version", "payer_name", "payer_phone", "issued_at",
                                         "due_date", "items", "total_vnd"}
    item = _resolve(document, notice["properties"]["items"]["items"])
    assert set(item["properties"]) >= {"sub_item_code", "description", "amount_vnd"}
    prop = _resolve(document, batch["properties"]["property"])
    assert set(prop["properties"]) >= {"address", "parcel_number", "map_sheet_number", "area_m2"}

    callback = _body_schema(document, "POST", "/v1/partners/banks/{bank_code}/callbacks")
    assert set(callback["properties"]) >= {"payment_id", "bank_txn_ref", "amount_vnd", "currency", "status",
                                           "paid_at"}
    assert callback["properties"]["status"]["enum"] == ["SUCCESS", "FAILED"]

    assert set(_body_schema(document, "POST", "/v1/lookup")["required"]) == {"dossier_code", "id_number"}
    payment_in = _body_schema(document, "POST", "/v1/payments")
    assert set(payment_in["properties"]) >= {"dossier_code", "id_number", "notice_number", "bank_code", "return_url"}


def test_fixed_response_fields(document):
    assert set(_ok_schema(document, "POST", "/v1/partners/notices", 200)["required"]) == {"accepted", "unchanged"}
    result = _ok_schema(document, "POST", "/v1/partners/banks/{bank_code}/callbacks", 200)
    assert result["properties"]["result"]["enum"] == ["applied", "duplicate"]
    ipn = _ok_schema(document, "GET", "/v1/partners/banks/vnpay/ipn", 200)
    assert set(ipn["required"]) == {"RspCode", "Message"}
    assert ipn["properties"]["RspCode"]["enum"] == ["00", "01", "02", "04", "97", "99"]

    lookup = _ok_schema(document, "POST", "/v1/lookup", 200)
    assert set(lookup["required"]) >= {"dossier_code", "property", "notices"}
    notice = _resolve(document, lookup["properties"]["notices"]["items"])
    assert set(notice["required"]) >= {"notice_number", "payer_name", "items", "total_vnd", "status"}
    assert notice["properties"]["status"]["enum"] == ["payable", "in_payment", "paid"]

    created = _ok_schema(document, "POST", "/v1/payments", 201)
    assert set(created["required"]) >= {"payment_id", "state", "amount_vnd", "bank_code", "redirect_url",
                                        "expires_at"}
    states = ["CREATED", "PENDING_BANK", "PAID", "FAILED", "EXPIRED", "CANCELLED"]
    assert created["properties"]["state"]["enum"] == states
    view = _ok_schema(document, "GET", "/v1/payments/{payment_id}", 200)
    assert set(view["required"]) >= {"payment_id", "state", "amount_vnd", "notice_number", "bank_code"}
    assert "receipt_id" in view["properties"] and "receipt_id" not in view["required"]
    assert view["properties"]["state"]["enum"] == states

    assert _ok_schema(document, "GET", "/v1/receipts/{receipt_id}", 200)["title"] == "Receipt"
    pdf = _op(document, "GET", "/v1/receipts/{receipt_id}/pdf")["responses"]["200"]["content"]
    assert list(pdf) == ["application/pdf"]


def test_problem_schema(document):
    problem = _schema(document, "Problem")
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert set(problem["properties"]) >= {"type", "title", "status", "detail", "code", "errors", "instance"}
    field_error = _resolve(document, problem["properties"]["errors"]["items"])
    assert set(field_error["required"]) == {"field", "code", "message"}


def _problem_codes(op, status):
    content = op["responses"][str(status)]["content"]
    assert list(content) == ["application/problem+json"]
    schema = content["application/problem+json"]["schema"]
    assert schema["allOf"] == [{"$ref": "#/components/schemas/Problem"}]
    assert schema["properties"]["status"]["const"] == status
    return set(schema["properties"]["code"]["enum"])


@pytest.mark.parametrize("method, path, status, code", [
    ("POST", "/v1/partners/notices", 401, "INVALID_SIGNATURE"),
    ("POST", "/v1/partners/notices", 409, "NOTICE_LOCKED"),
    ("POST", "/v1/partners/notices", 422, "VALIDATION_FAILED"),
    ("POST", "/v1/partners/banks/{bank_code}/callbacks", 401, "INVALID_SIGNATURE"),
    ("POST", "/v1/partners/banks/{bank_code}/callbacks", 409, "PAYMENT_ALREADY_FINAL"),
    ("POST", "/v1/partners/banks/{bank_code}/callbacks", 422, "AMOUNT_MISMATCH"),
    ("POST", "/v1/partners/banks/{bank_code}/callbacks", 404, "PAYMENT_NOT_FOUND"),
    ("POST", "/v1/lookup", 404, "DOSSIER_NOT_FOUND"),
    ("POST", "/v1/payments", 409, "NOTICE_ALREADY_PAID"),
    ("POST", "/v1/payments", 409, "PAYMENT_IN_PROGRESS"),
    ("POST", "/v1/payments", 409, "IDEMPOTENCY_KEY_REUSED"),
    ("POST", "/v1/payments", 403, "BANK_ACCOUNT_NOT_LINKED"),
    ("GET", "/v1/payments/{payment_id}", 404, "PAYMENT_NOT_FOUND"),
    ("GET", "/v1/receipts/{receipt_id}", 404, "RECEIPT_NOT_FOUND"),
])
def test_fixed_error_codes(document, method, path, status, code):
    assert code in _problem_codes(_op(document, method, path), status)


def test_every_error_response_is_problem_json_with_codes(document):
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if status.startswith(("4", "5")):
                    codes = _problem_codes(op, int(status))
                    assert codes and all(c.isupper() for c in codes), (method, path, status)


def test_headers_security_and_query_parameters(document):
    def params(method, path):
        out = {}
        for p in _op(document, method, path).get("parameters", []):
            if "$ref" in p:
                p = document["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
            out[(p["in"], p["name"])] = p
        return out

    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    pay = _op(document, "POST", "/v1/payments")
    assert pay["security"] == [{}, {"bearerAuth": []}]  # optional
    assert params("POST", "/v1/payments")[("header", "Idempotency-Key")]["required"] is False

    webhook = {("header", "webhook-id"), ("header", "webhook-timestamp"), ("header", "webhook-signature")}
    for path in ("/v1/partners/notices", "/v1/partners/banks/{bank_code}/callbacks"):
        got = params("POST", path)
        assert webhook <= set(got), path
        assert all(got[k]["required"] for k in webhook)
        assert _op(document, "POST", path)["security"] == []
    assert ("path", "bank_code") in params("POST", "/v1/partners/banks/{bank_code}/callbacks")

    ipn = params("GET", "/v1/partners/banks/vnpay/ipn")
    names = {name for where, name in ipn if where == "query"}
    assert {"vnp_Amount", "vnp_TxnRef", "vnp_ResponseCode", "vnp_SecureHash"} <= names
    assert all(n.startswith("vnp_") for n in names)
    assert ("path", "payment_id") in params("GET", "/v1/payments/{payment_id}")


# --- the response models follow the code ------------------------------------------------------------------------------

def test_enums_follow_the_domain():
    from typing import get_args

    from chalicelib.payments.domain.notices import NoticeStatus
    from chalicelib.payments.domain.payments import PaymentState

    assert list(get_args(schemas.PaymentStateName)) == [s.value for s in PaymentState]
    assert list(get_args(schemas.NoticeStatusName)) == [s.value for s in NoticeStatus]


def test_views_follow_the_domain_models():
    from chalicelib.payments.domain.notices import NoticeItemIn, PropertyIn
    from chalicelib.receipts.domain import Receipt

    # receipt_view answers the stored receipt without its internal sequence number and signed flag, with the
    # verification link and the correcting receipt when there is one
    assert set(ReceiptAnswer.model_fields) == set(Receipt.model_fields) - {"sequence", "signed"} | {
        "verification_url", "corrected_by"}
    assert set(schemas.NoticeItem.model_fields) == set(NoticeItemIn.model_fields)
    assert set(schemas.PropertyView.model_fields) == set(PropertyIn.model_fields)


def test_payment_views_match_the_service_answers():
    from chalicelib.payments.domain.payments import Payment, PaymentState
    from chalicelib.payments.services.payment_requests import _view

    payment = Payment(
        payment_id="PAYH3501HZX3Q8Y4B8N5W6M7K9J0R1T2", state=PaymentState.PAID,
        dossier_code="000.00.43.H35-210520-0001",
        notice_number="TB-2021-000123", notice_version=1, amount_vnd=1_378_500, bank_code="BIDV",
        collecting_unit="1054321", payer_name="Nguyễn Thị Trang",
        items=[{"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": 1_378_500}],
        created_at="2021-05-20T10:00:00+07:00", expires_at=1_621_480_500, paid_at="2021-05-20T10:01:02+07:00",
        receipt_id="RCPH3501HZX3Q8Y4B8N5W6M7K9J0R1T2", refund_required=True, reference_number="DVC210520123456789",
        tax_payment_id="7012345678901",
    )
    full = _view(payment, 1_621_480_000)
    schemas.PaymentView.model_validate(full)  # extra="forbid": a new field in the answer must be documented
    bare = _view(payment.model_copy(update={"state": PaymentState.PENDING_BANK, "paid_at": None, "receipt_id": None,
                                            "refund_required": False}), 1_621_480_000)
    schemas.PaymentView.model_validate(bare)
    schemas.PaymentCreated.model_validate({**bare, "redirect_url": "https://bank.example/pay?payment_id=x",
                                           "client_secret": "0123456789abcdef0123456789abcdef01234567"})


def test_ipn_answers_and_problems_match_their_models():
    from chalicelib.core.errors import FieldError, conflict, validation_error
    from chalicelib.payments.adapters import vnpay

    for code in ("00", "01", "02", "04", "97", "99"):
        schemas.VnpayIpnAnswer.model_validate(vnpay.ipn_response(code))
    openapi.Problem.model_validate(conflict("NOTICE_LOCKED", "Thông báo đã khóa.", notice_number="TB-1")
                                   .to_problem("/v1/partners/notices"))
    openapi.Problem.model_validate(validation_error([FieldError("notices.0.total_vnd", "TOTAL_MISMATCH", "Sai.")])
                                   .to_problem())
