"""Province integration for administrators: API registry (M11), API check, delivery stats and re-drive (M6), and
error-alert contacts (M12). Roles: province_admin for their own province, operator for all (re-drive: operator).
Thin: token -> Actor, body -> use case -> JSON."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import (
    ACCEPTED_CONTENT_TYPES,
    endpoint,
    json_response,
    parse_json,
    raw_body,
)

bp = Blueprint(__name__)
_ADMIN_ROLES = ("province_admin", "operator")


def _actor(*roles: str):
    from chalicelib.api.http import principal
    from chalicelib.core.errors import forbidden
    from chalicelib.identity.domain import ForbiddenError, Role, require_roles
    from chalicelib.provinces.ports import Actor

    p = principal(bp.current_request, required=True)
    try:
        require_roles(p, *(roles or _ADMIN_ROLES))
    except ForbiddenError as exc:
        raise forbidden(exc.code, exc.message) from None
    return Actor(subject=p.subject, operator=p.has_role(Role.OPERATOR), province_claim=p.province_code)


def _psvc():
    from chalicelib.api.wiring import context

    return context()


def _body():
    from chalicelib.api.wiring import context

    request = bp.current_request
    return parse_json(raw_body(request, context().settings.max_body_bytes), request)


# -- registry ---------------------------------------------------------------------------------------------------

@bp.route("/v1/provinces", methods=["GET"])
@endpoint(bp)
def list_province_apis():
    from chalicelib.provinces.services.registry import list_apis

    return json_response({"apis": list_apis(_psvc(), _actor())})


@bp.route("/v1/provinces/{agency_code}/apis", methods=["GET"])
@endpoint(bp)
def get_province_apis(agency_code: str):
    from chalicelib.provinces.services.registry import list_apis

    return json_response({"apis": list_apis(_psvc(), _actor(), agency_code)})


@bp.route("/v1/provinces/{agency_code}/apis/{api_type}", methods=["PUT"], content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def put_province_api(agency_code: str, api_type: str):
    from chalicelib.provinces.services.registry import put_api

    actor = _actor()
    return json_response(put_api(_psvc(), actor, agency_code, api_type, _body()))


@bp.route("/v1/provinces/{agency_code}/apis/{api_type}/disable", methods=["POST"],
          content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def disable_province_api(agency_code: str, api_type: str):
    from chalicelib.provinces.services.registry import disable_api

    return json_response(disable_api(_psvc(), _actor(), agency_code, api_type))


@bp.route("/v1/provinces/{agency_code}/audit", methods=["GET"])
@endpoint(bp)
def province_audit(agency_code: str):
    from chalicelib.provinces.services.registry import audit_trail

    return json_response({"records": audit_trail(_psvc(), _actor(), agency_code)})


# -- API check ----------------------------------------------------------------------------------------------------

@bp.route("/v1/provinces/{agency_code}/apis/{api_type}/check", methods=["POST"], content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def check_province_api(agency_code: str, api_type: str):
    from chalicelib.provinces.services.api_check import check_configured

    actor = _actor()
    return json_response(check_configured(_psvc(), actor, agency_code, api_type, _body()))


@bp.route("/v1/api-checks", methods=["POST"], content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def check_new_url():
    from chalicelib.provinces.services.api_check import check_url

    actor = _actor()
    return json_response(check_url(_psvc(), actor, _body()))


# -- deliveries ---------------------------------------------------------------------------------------------------

@bp.route("/v1/provinces/{agency_code}/deliveries", methods=["GET"])
@endpoint(bp)
def province_deliveries(agency_code: str):
    from chalicelib.provinces.services.registry import delivery_stats

    return json_response(delivery_stats(_psvc(), _actor(), agency_code))


@bp.route("/v1/provinces/{agency_code}/deliveries/redrive", methods=["POST"], content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def redrive_province(agency_code: str):
    from chalicelib.provinces.services.recovery import redrive

    return json_response(redrive(_psvc(), _actor("operator"), agency_code))


# -- alert contacts (M12) -----------------------------------------------------------------------------------------

@bp.route("/v1/alert-contacts", methods=["GET"])
@endpoint(bp)
def list_alert_contacts():
    from chalicelib.provinces.services.registry import list_contacts

    return json_response({"contacts": list_contacts(_psvc(), _actor())})


@bp.route("/v1/alert-contacts/{unit_code}/{service_type}", methods=["GET"])
@endpoint(bp)
def get_alert_contacts(unit_code: str, service_type: str):
    from chalicelib.provinces.services.registry import get_contacts

    return json_response(get_contacts(_psvc(), _actor(), unit_code, service_type))


@bp.route("/v1/alert-contacts/{unit_code}/{service_type}", methods=["PUT"], content_types=ACCEPTED_CONTENT_TYPES)
@endpoint(bp)
def put_alert_contacts(unit_code: str, service_type: str):
    from chalicelib.provinces.services.registry import put_contacts

    actor = _actor()
    return json_response(put_contacts(_psvc(), actor, unit_code, service_type, _body()))


@bp.route("/v1/alert-contacts/{unit_code}/{service_type}", methods=["DELETE"])
@endpoint(bp)
def delete_alert_contacts(unit_code: str, service_type: str):
    from chalicelib.provinces.services.registry import delete_contacts

    delete_contacts(_psvc(), _actor(), unit_code, service_type)
    return Response(body="", status_code=204)


# -- OpenAPI ------------------------------------------------------------------------------------------------------

def openapi_ops() -> dict:
    from chalicelib.api.openapi import _BODY_ERRORS, _TOKEN_ERRORS, Ok, Op, _errors

    obj = {"type": "object"}
    province = {"agency_code": "The province's level-1 agency code (mã định danh), e.g. 000.00.00.H49."}
    api = {**province, "api_type": "notice (API BNDP nhận thông báo thuế đất), payment_result (API BNDP thanh toán "
                                    "thuế đất) or receipt_file (API file đính kèm)."}
    unit = {"unit_code": "Agency code of the unit (mã định danh).",
            "service_type": "land_tax_payment (Thanh toán thuế đất)."}
    scope = {403: ("ROLE_FORBIDDEN", "PROVINCE_FORBIDDEN")}
    bad_code = {422: ("VALIDATION_FAILED",)}
    url_refused = {422: ("URL_INVALID", "URL_SCHEME_NOT_ALLOWED", "URL_USERINFO_NOT_ALLOWED",
                         "URL_IP_ENCODING_NOT_ALLOWED", "URL_ADDRESS_NOT_ALLOWED", "URL_ADDRESS_INVALID",
                         "URL_HOST_UNRESOLVED")}
    api_view = Ok("The API configuration (credentials are never returned: has_credentials).", schema=obj)
    tag = "provinces"
    return {
        ("GET", "/v1/provinces"): Op(
            summary="List the province API configurations (all for an operator, their own for a province admin)",
            tag=tag, ok={200: Ok("{apis: [...]}", schema=obj)}, errors=_errors(_TOKEN_ERRORS), auth="bearer"),
        ("GET", "/v1/provinces/{agency_code}/apis"): Op(
            summary="A province's API configurations", tag=tag, ok={200: Ok("{apis: [...]}", schema=obj)},
            errors=_errors(_TOKEN_ERRORS, scope, bad_code), auth="bearer", path_params=province),
        ("PUT", "/v1/provinces/{agency_code}/apis/{api_type}"): Op(
            summary="Create or update a province API (session URL, data URL, credentials, timeouts, active)",
            description="Credentials are stored in the secret store and never returned; omit them on update to keep "
            "the stored ones. https only in production. Every change is audited.",
            tag=tag, request="chalicelib.provinces.domain.registry:ProvinceApiIn", ok={200: api_view},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, scope, {409: ("CONCURRENT_UPDATE",)}), auth="bearer",
            path_params=api),
        ("POST", "/v1/provinces/{agency_code}/apis/{api_type}/disable"): Op(
            summary="Disable a province API (deliveries to it fail and are retried until it is active again)",
            tag=tag, ok={200: api_view},
            errors=_errors(_TOKEN_ERRORS, scope, bad_code, {404: ("PROVINCE_API_NOT_FOUND",),
                                                            409: ("CONCURRENT_UPDATE",)}),
            auth="bearer", path_params=api),
        ("GET", "/v1/provinces/{agency_code}/audit"): Op(
            summary="Audit trail of a province's configuration, checks and re-drives (who, when, what)", tag=tag,
            ok={200: Ok("{records: [...]}, newest first", schema=obj)},
            errors=_errors(_TOKEN_ERRORS, scope, bad_code), auth="bearer", path_params=province),
        ("POST", "/v1/provinces/{agency_code}/apis/{api_type}/check"): Op(
            summary="API check: send a sample body to a configured API (session first) and see the answer",
            description="Shows status, headers, a size-capped body and latency of the session call (without the "
            "token) and of the data call. Redirects are not followed. Audited.",
            tag=tag, request="chalicelib.provinces.services.api_check:CheckIn", ok={200: Ok("The answers.", schema=obj)},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, scope, url_refused, {404: ("PROVINCE_API_NOT_FOUND",)}),
            auth="bearer", path_params=api),
        ("POST", "/v1/api-checks"): Op(
            summary="API check of a new URL with a chosen API type (SSRF-guarded)",
            description="https only in production; the host is resolved and refused if private, loopback, "
            "link-local or a metadata address; decimal/octal/hex IP forms are refused; redirects are not followed; "
            "short timeout; every check is audited.",
            tag=tag, request="chalicelib.provinces.services.api_check:CheckUrlIn", ok={200: Ok("The answer.", schema=obj)},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, scope, url_refused), auth="bearer"),
        ("GET", "/v1/provinces/{agency_code}/deliveries"): Op(
            summary="Deliveries to a province by state: pending, delivered, failing, dead", tag=tag,
            ok={200: Ok("Counts per state and failing_since.", schema=obj)},
            errors=_errors(_TOKEN_ERRORS, scope, bad_code), auth="bearer", path_params=province),
        ("POST", "/v1/provinces/{agency_code}/deliveries/redrive"): Op(
            summary="Re-drive a province's dead letters (operator), once the province is back",
            description="Every DEAD delivery of the province is queued again with a fresh retry window and its "
            "dead-letter messages are removed. Idempotent in effect: provinces de-duplicate on message_id.",
            tag=tag, ok={200: Ok("{redriven, dead_letters_removed}", schema=obj)},
            errors=_errors(_TOKEN_ERRORS, bad_code), auth="bearer", path_params=province),
        ("GET", "/v1/alert-contacts"): Op(
            summary="List registered error-alert contacts (đăng ký nhận cảnh báo lỗi)", tag=tag,
            ok={200: Ok("{contacts: [...]}", schema=obj)}, errors=_errors(_TOKEN_ERRORS), auth="bearer"),
        ("GET", "/v1/alert-contacts/{unit_code}/{service_type}"): Op(
            summary="Alert contacts of a unit and service type", tag=tag, ok={200: Ok("Phones and emails.", schema=obj)},
            errors=_errors(_TOKEN_ERRORS, scope, bad_code, {404: ("ALERT_CONTACTS_NOT_FOUND",)}), auth="bearer",
            path_params=unit),
        ("PUT", "/v1/alert-contacts/{unit_code}/{service_type}"): Op(
            summary="Register or change a unit's alert phones and emails",
            description="Phones are Vietnamese mobiles, stored E.164; emails are normalised. Each email is "
            "subscribed to the alert-emails topic (the recipient confirms once). Audited.",
            tag=tag, request="chalicelib.provinces.domain.registry:AlertContactsIn", ok={200: Ok("Stored contacts.", schema=obj)},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, scope), auth="bearer", path_params=unit),
        ("DELETE", "/v1/alert-contacts/{unit_code}/{service_type}"): Op(
            summary="Remove a unit's alert contacts", tag=tag, ok={204: Ok("Removed.")},
            errors=_errors(_TOKEN_ERRORS, scope, bad_code, {404: ("ALERT_CONTACTS_NOT_FOUND",)}), auth="bearer",
            path_params=unit),
    }
