"""Regression tests of the fuzzer's findings (tests/fuzz, issue 8 §8): each request the server refused as malformed
(422 VALIDATION_FAILED) although the OpenAPI document called it valid is now outside the document, and each rule no
JSON Schema can state answers its own code, which the route declares. Without the fixes these fail: the value was
inside the document, or the server accepted it, or the code was undeclared (500 CONTRACT_VIOLATION in tests)."""
from __future__ import annotations

import json

import jsonschema
import pytest

from chalicelib.api import openapi
from chalicelib.core.errors import AppError
from chalicelib.core.parsing import parse


@pytest.fixture(scope="module")
def document():
    import app as app_module

    return openapi.build_openapi(app_module.app)


def _op(document, method, path):
    return document["paths"][path][method.lower()]


def _valid(document, schema: dict, value) -> bool:
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]},
                                                format_checker=checker)
    return validator.is_valid(value)


def _body(document, method, path) -> dict:
    return _op(document, method, path)["requestBody"]["content"]["application/json"]["schema"]


def _param(document, method, path, name) -> dict:
    return next(p["schema"] for p in _op(document, method, path)["parameters"] if p["name"] == name)


NOTICE = {"notice_number": "TB-1", "version": 1, "payer_name": "Nguyễn Văn An", "total_vnd": 1000,
          "items": [{"sub_item_code": "1001", "description": "Tiền sử dụng đất", "amount_vnd": 1000}]}
BATCH = {"dossier_code": "000.00.43.H35-260520-0001", "id_number": "035095001234", "commune_code": "22246",
         "commune_code_system": "gso", "notices": [NOTICE]}
SUPPORT = {"request_type": "other", "service_group": "dvcqg_integration", "requester_name": "Nguyễn Văn An",
           "requester_phone": "0912345678", "feedback_email": "an@example.vn", "title": "Cần hỗ trợ",
           "description": "Mô tả"}

# (method, path, body the fuzzer sent that the server refused as malformed)
OUTSIDE_BODIES = {
    "reset-empty-id": ("POST", "/v1/auth/password-reset", {"code": "000000", "id_number": "", "new_password": "Abc12345"}),
    "reset-otp-long-id": ("POST", "/v1/auth/password-reset/otp", {"id_number": "0000000000000000000"}),
    "short-new-password": ("POST", "/v1/auth/staff/new-password",
                           {"new_password": "0", "session": "s" * 20, "username": "0"}),
    "api-check-unknown-province": ("POST", "/v1/api-checks", {"agency_code": "000.00.00.H00", "api_type": "notice",
                                                              "body": {}, "url": "https://a.example.vn/x"}),
    "api-check-url-not-a-url": ("POST", "/v1/api-checks", {"api_type": "notice", "body": {}, "url": "00000000"}),
    "bank-link-unknown-bank": ("POST", "/v1/citizens/me/bank-links", {"bank_code": "00", "banking_username": "abc"}),
    "notice-date-as-number": ("POST", "/v1/partners/notices", {**BATCH, "notices": [{**NOTICE, "due_date": 0}]}),
    "notice-area-zero": ("POST", "/v1/partners/notices", {**BATCH, "property": {"area_m2": 0.0}}),
    "support-blank-phone-email": ("POST", "/v1/support-requests", {**SUPPORT, "requester_phone": "",
                                                                    "feedback_email": ""}),
    "support-unknown-group": ("POST", "/v1/support-requests", {**SUPPORT, "service_group": ""}),
    "support-config-without-apis": ("POST", "/v1/support-requests", {**SUPPORT, "request_type": "api_configuration"}),
    "support-api-url-not-a-url": ("POST", "/v1/support-requests", {
        **SUPPORT, "request_type": "api_configuration",
        "apis": [{"api_type": "notice", "data_url": "00000000", "session_url": "https://a.example.vn/s"}]}),
    "attachment-no-extension": ("POST", "/v1/support-requests/attachments", {"file_name": "0", "size_bytes": 2}),
    "reject-without-reason": ("POST", "/v1/support-requests/{request_id}/status", {"reason": None,
                                                                                   "status": "rejected"}),
}


@pytest.mark.parametrize(("method", "path", "body"), OUTSIDE_BODIES.values(), ids=OUTSIDE_BODIES.keys())
def test_a_body_the_server_refuses_as_malformed_is_outside_the_document(document, method, path, body):
    assert not _valid(document, _body(document, method, path), body)


def test_the_fixed_bodies_are_still_inside_the_document(document):
    # The valid neighbours of the findings stay valid: the schema was made exact, not closed.
    assert _valid(document, _body(document, "POST", "/v1/partners/notices"), BATCH)
    assert _valid(document, _body(document, "POST", "/v1/support-requests"), SUPPORT)
    assert _valid(document, _body(document, "POST", "/v1/support-requests/attachments"), {"file_name": "a.PDF"})


OUTSIDE_PARAMS = {
    "province-path-unknown": ("GET", "/v1/provinces/{agency_code}/apis", "agency_code", "000.00.00.H00"),
    "onboarding-path-odd": ("GET", "/v1/onboarding/provinces/{agency_code}", "agency_code", "\u0084"),
    "onboarding-path-zeros": ("POST", "/v1/onboarding/provinces/{agency_code}/override", "agency_code", "0" * 34),
    "support-status-empty": ("GET", "/v1/support-requests", "status", ""),
    "support-type-empty": ("GET", "/v1/support-requests", "request_type", ""),
    "support-unit-empty": ("GET", "/v1/support-requests", "unit_code", ""),
    "return-amount-empty": ("GET", "/v1/payments/{payment_id}/vnpay-return", "vnp_Amount", ""),
}


@pytest.mark.parametrize(("method", "path", "name", "value"), OUTSIDE_PARAMS.values(), ids=OUTSIDE_PARAMS.keys())
def test_a_parameter_the_server_refuses_is_outside_the_document(document, method, path, name, value):
    assert not _valid(document, _param(document, method, path, name), value)


def test_dates_are_text_not_numbers():
    """pydantic alone reads 0 (or "0") as 1970-01-01: the server accepted what the document calls invalid."""
    from chalicelib.accounts.services.citizen_accounts import AccountQueryIn
    from chalicelib.onboarding.domain.search import ListQuery
    from chalicelib.payments.domain.notices import NoticeBatchIn

    for model, body in ((NoticeBatchIn, {**BATCH, "notices": [{**NOTICE, "due_date": 0}]}),
                        (NoticeBatchIn, {**BATCH, "notices": [{**NOTICE, "issued_at": 1700000000}]}),
                        (AccountQueryIn, {"created_to": 0}), (ListQuery, {"to_date": "0"})):
        with pytest.raises(AppError) as err:
            parse(model, body)
        assert err.value.code == "VALIDATION_FAILED"
    assert parse(ListQuery, {"to_date": "2026-05-20"}).to_date.isoformat() == "2026-05-20"


def test_an_integral_number_with_a_fraction_is_its_own_rule():
    """5.0 is an integer to JSON Schema; a strict money field refuses it with INTEGER_REQUIRED, declared."""
    from chalicelib.payments.domain.notices import NoticeBatchIn

    with pytest.raises(AppError) as err:
        parse(NoticeBatchIn, {**BATCH, "notices": [{**NOTICE, "total_vnd": 1000.0}]})
    assert err.value.code == "INTEGER_REQUIRED"
    with pytest.raises(AppError) as err:
        parse(NoticeBatchIn, {**BATCH, "notices": [{**NOTICE, "total_vnd": "1000"}]})
    assert err.value.code == "VALIDATION_FAILED"


def test_password_rules_beyond_the_schema_answer_their_own_codes():
    from chalicelib.accounts.services.passwords import new_password

    for password, code in (("password123", "PASSWORD_TOO_COMMON"), ("12345678901", "PASSWORD_TOO_WEAK"),
                           ("An035095001234", "PASSWORD_CONTAINS_ID")):
        with pytest.raises(AppError) as err:
            new_password(password, "035095001234")
        assert err.value.code == code, password
    with pytest.raises(AppError) as err:
        new_password("Ab1", None)  # too short: outside the document's minLength
    assert err.value.code == "VALIDATION_FAILED"


DECLARED = {
    "notices-integral-float": ("POST", "/v1/partners/notices", "422", "INTEGER_REQUIRED"),
    "notices-unmapped-commune": ("POST", "/v1/partners/notices", "422", "COMMUNE_CODE_UNKNOWN"),
    "reset-common-password": ("POST", "/v1/auth/password-reset", "422", "PASSWORD_TOO_COMMON"),
    "reset-born-later": ("POST", "/v1/auth/password-reset/otp", "422", "ID_NUMBER_BIRTH_YEAR"),
    "password-unchanged": ("POST", "/v1/citizens/me/password", "422", "PASSWORD_UNCHANGED"),
    "api-check-own-province": ("POST", "/v1/api-checks", "422", "AGENCY_CODE_REQUIRED"),
    "api-put-province-mismatch": ("PUT", "/v1/provinces/{agency_code}/apis/{api_type}", "422",
                                  "PROVINCE_CODE_MISMATCH"),
    "api-put-private-address": ("PUT", "/v1/provinces/{agency_code}/apis/{api_type}", "422",
                                "URL_ADDRESS_NOT_ALLOWED"),
    "support-service-of-other-group": ("POST", "/v1/support-requests", "422", "SERVICE_UNKNOWN"),
    "support-list-cursor": ("GET", "/v1/support-requests", "422", "CURSOR_INVALID"),
    "refunds-cursor": ("GET", "/v1/operator/refunds", "422", "CURSOR_INVALID"),
    "support-list-date-range": ("GET", "/v1/support-requests", "422", "DATE_RANGE_INVALID"),
    "support-report-month-range": ("GET", "/v1/support-reports/monthly", "422", "MONTH_RANGE_INVALID"),
    "onboarding-unknown-province": ("GET", "/v1/onboarding/provinces/{agency_code}", "422", "VALIDATION_FAILED"),
}


@pytest.mark.parametrize(("method", "path", "status", "code"), DECLARED.values(), ids=DECLARED.keys())
def test_each_rule_code_is_declared_by_its_route(document, method, path, status, code):
    assert code in json.dumps(_op(document, method, path)["responses"][status])


def test_ranges_answer_their_own_codes():
    from chalicelib.onboarding.domain.search import ListQuery
    from chalicelib.onboarding.services.clock import ReportQuery

    for model, query, code in ((ListQuery, {"from_date": "0175-08-12", "to_date": "0109-05-23"}, "DATE_RANGE_INVALID"),
                               (ReportQuery, {"from_month": "5027-10", "to_month": "8542-12"}, "MONTH_RANGE_INVALID")):
        with pytest.raises(AppError) as err:
            parse(model, query)
        assert err.value.code == code


def test_rule_refusals_of_urls_and_provinces_keep_their_own_codes():
    from chalicelib.core.errors import FieldError, validation_error
    from chalicelib.provinces.domain.outbound_urls import UrlRefusedError

    where = UrlRefusedError("URL_ADDRESS_NOT_ALLOWED", "Không được gọi tới địa chỉ mạng nội bộ.")
    form = UrlRefusedError("URL_USERINFO_NOT_ALLOWED", "Không được chứa tên đăng nhập.")
    assert validation_error([FieldError.of("data_url", where)]).code == "URL_ADDRESS_NOT_ALLOWED"
    assert validation_error([FieldError.of("data_url", form)]).code == "VALIDATION_FAILED"
