"""Province integration for administrators: API registry (M11), API check, delivery stats and re-drive (M6), and
error-alert contacts (M12). Roles: province_admin for their own province, operator for all (re-drive: operator).
Thin: token -> Actor, body -> use case -> JSON."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.routing import Call, Ok, Param, Reply, bearer, route
from chalicelib.core.fields import LazySchema, ProvinceAgencyCode, province_agency_code_schema
from chalicelib.provinces.domain.registry import AlertContactsIn, ProvinceApiIn
from chalicelib.provinces.schemas import (
    ApiList,
    ApiSamples,
    AuditRecords,
    ConfiguredCheck,
    ContactsList,
    ContactsView,
    DeliveryStats,
    ProvinceApiView,
    RedriveResult,
    UrlCheck,
)
from chalicelib.provinces.services.api_check import CheckIn, CheckUrlIn

bp = Blueprint(__name__)
TAG = "provinces"
ADMINS = bearer("province_admin", "operator")
SCOPE = {403: ("PROVINCE_FORBIDDEN",), 422: ("VALIDATION_FAILED",)}
URL_REFUSED = {422: ("URL_INVALID", "URL_SCHEME_NOT_ALLOWED", "URL_USERINFO_NOT_ALLOWED", "URL_IP_ENCODING_NOT_ALLOWED",
                     "URL_ADDRESS_NOT_ALLOWED", "URL_ADDRESS_INVALID", "URL_HOST_UNRESOLVED")}
AGENCY = Param("agency_code", description="The province's level-1 agency code (mã định danh), e.g. 000.00.00.H49.",
               schema=LazySchema(province_agency_code_schema))
API_TYPE = Param("api_type", description="notice (API BNDP nhận thông báo thuế đất), payment_result (API BNDP thanh "
                 "toán thuế đất) or receipt_file (API file đính kèm).",
                 schema={"type": "string", "enum": ["notice", "payment_result", "receipt_file"]})
UNIT = Param("unit_code", description="Agency code of the unit (mã định danh).",
             schema={"type": "string", "maxLength": 35,
                     "pattern": r"^[0-9A-Z]+\.[0-9A-Z]+\.[0-9A-Z]+\.[A-Z][0-9]{2}$"})
SERVICE = Param("service_type", description="land_tax_payment (Thanh toán thuế đất).",
                schema={"type": "string", "enum": ["land_tax_payment"]})
API_VIEW = Ok("The API configuration (credentials are never returned: has_credentials).", ProvinceApiView)


def _actor(call: Call):
    from chalicelib.identity.domain import Role
    from chalicelib.provinces.ports import Actor

    p = call.principal
    return Actor(subject=p.subject, operator=p.has_role(Role.OPERATOR), province_claim=p.province_code)


# -- registry ---------------------------------------------------------------------------------------------------

@route(bp, "GET", "/v1/provinces", tag=TAG, access=ADMINS, ok={200: Ok("The configurations in scope.", ApiList)},
       summary="List the province API configurations (all for an operator, their own for a province admin)")
def list_province_apis(call: Call):
    from chalicelib.provinces.services.registry import list_apis

    return {"apis": list_apis(call.ctx, _actor(call))}


@route(bp, "GET", "/v1/provinces/{agency_code}/apis", tag=TAG, access=ADMINS, params=(AGENCY,), problems=SCOPE,
       summary="A province's API configurations", ok={200: Ok("The province's configurations.", ApiList)})
def get_province_apis(call: Call):
    from chalicelib.provinces.services.registry import list_apis

    return {"apis": list_apis(call.ctx, _actor(call), call.path["agency_code"])}


@route(bp, "PUT", "/v1/provinces/{agency_code}/apis/{api_type}", tag=TAG, access=ADMINS, params=(AGENCY, API_TYPE),
       summary="Create or update a province API (session URL, data URL, credentials, timeouts, active)",
       description="Credentials are stored in the secret store (within seconds, by the outbox) and never "
       "returned; omit them on update to keep the stored ones, except when the session URL moves to another host "
       "(scheme, host or port): then they are required again (422, field error "
       "`CREDENTIALS_REQUIRED_FOR_NEW_HOST`). https only in production. Every change is audited.",
       request=ProvinceApiIn, ok={200: API_VIEW},
       problems={**SCOPE, 422: (*SCOPE[422], "PROVINCE_CODE_MISMATCH"), 409: ("CONCURRENT_UPDATE",)})
def put_province_api(call: Call):
    from chalicelib.provinces.services.registry import put_api

    return put_api(call.ctx, _actor(call), call.path["agency_code"], call.path["api_type"], call.body())


@route(bp, "POST", "/v1/provinces/{agency_code}/apis/{api_type}/disable", tag=TAG, access=ADMINS,
       params=(AGENCY, API_TYPE), ok={200: API_VIEW},
       summary="Disable a province API (deliveries to it fail and are retried until it is active again)",
       problems={**SCOPE, 404: ("PROVINCE_API_NOT_FOUND",), 409: ("CONCURRENT_UPDATE",)})
def disable_province_api(call: Call):
    from chalicelib.provinces.services.registry import disable_api

    return disable_api(call.ctx, _actor(call), call.path["agency_code"], call.path["api_type"])


@route(bp, "GET", "/v1/provinces/{agency_code}/audit", tag=TAG, access=ADMINS, params=(AGENCY,), problems=SCOPE,
       summary="Audit trail of a province's configuration, checks and re-drives (who, when, what)",
       ok={200: Ok("The trail, newest first.", AuditRecords)})
def province_audit(call: Call):
    from chalicelib.provinces.services.registry import audit_trail

    return {"records": audit_trail(call.ctx, _actor(call), call.path["agency_code"])}


# -- API check ----------------------------------------------------------------------------------------------------

@route(bp, "POST", "/v1/provinces/{agency_code}/apis/{api_type}/check", tag=TAG, access=ADMINS,
       params=(AGENCY, API_TYPE), request=CheckIn, ok={200: Ok("The answers.", ConfiguredCheck)},
       summary="API check: send a sample body to a configured API (session first) and see the answer",
       description="Shows status, headers, a size-capped body and latency of the session call (without the "
       "token) and of the data call. Redirects are not followed. Audited. `409 CREDENTIALS_PENDING` while "
       "credentials just changed are still being written to the secret store (retry after a few seconds).",
       problems={**SCOPE, **URL_REFUSED, 404: ("PROVINCE_API_NOT_FOUND",), 409: ("CREDENTIALS_PENDING",)})
def check_province_api(call: Call):
    from chalicelib.provinces.services.api_check import check_configured

    return check_configured(call.ctx, _actor(call), call.path["agency_code"], call.path["api_type"], call.body())


@route(bp, "POST", "/v1/api-checks", tag=TAG, access=ADMINS, request=CheckUrlIn, ok={200: Ok("The answer.", UrlCheck)},
       summary="API check of a new URL with a chosen API type (SSRF-guarded)",
       description="https only in production; the host is resolved and refused if private, loopback, "
       "link-local or a metadata address; decimal/octal/hex IP forms are refused; redirects are not followed; "
       "short timeout; every check is audited.",
       problems={**SCOPE, 422: (*SCOPE[422], *URL_REFUSED[422], "AGENCY_CODE_REQUIRED")})
def check_new_url(call: Call):
    from chalicelib.provinces.services.api_check import check_url

    return check_url(call.ctx, _actor(call), call.body())


class SamplesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    agency_code: ProvinceAgencyCode | None = Field(default=None,
                                                   description="The province whose unit code the samples carry.")


@route(bp, "GET", "/v1/api-checks/samples", tag=TAG, access=ADMINS, query=SamplesQuery, problems=SCOPE,
       summary="The sample body of each API type for the API check (the portal's payloads, with sample data)",
       ok={200: Ok("One sample per API type.", ApiSamples)})
def api_check_samples(call: Call):
    from chalicelib.provinces.services.api_check import samples

    return samples(call.ctx, _actor(call), call.query().agency_code)


# -- deliveries ---------------------------------------------------------------------------------------------------

class DeliveriesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    __rules__ = ("CURSOR_INVALID",)  # an opaque cursor's content
    state: Literal["pending", "delivered", "failing", "dead"] | None = Field(
        default=None, description="List this state's deliveries (items), besides the counts.")
    kind: Literal["receipt", "notice"] | None = Field(default=None, description="With state: one kind only.")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, min_length=1, max_length=2000)


@route(bp, "GET", "/v1/provinces/{agency_code}/deliveries", tag=TAG, access=ADMINS, params=(AGENCY,),
       query=DeliveriesQuery, problems=SCOPE,
       summary="Deliveries to a province by state: pending, delivered, failing, dead",
       description="Always the counts per state and failing_since; with `state` also a page of that state's "
       "deliveries, newest first (`kind`, `limit`, `cursor` from the previous page's `next_cursor`).",
       ok={200: Ok("Counts per state and failing_since (and a page of one state's deliveries).", DeliveryStats)})
def province_deliveries(call: Call):
    from chalicelib.provinces.services.registry import delivery_stats

    q = call.query()
    return delivery_stats(call.ctx, _actor(call), call.path["agency_code"], q.state, q.kind, q.limit, q.cursor)


@route(bp, "POST", "/v1/provinces/{agency_code}/deliveries/redrive", tag=TAG, access=bearer("operator"),
       params=(AGENCY,), problems={422: ("VALIDATION_FAILED",)},
       summary="Re-drive a province's dead letters (operator), once the province is back",
       description="Every DEAD delivery of the province is queued again with a fresh retry window and its "
       "dead-letter messages are removed. Idempotent in effect: provinces de-duplicate on message_id.",
       ok={200: Ok("How many deliveries went back to the queue.", RedriveResult)})
def redrive_province(call: Call):
    from chalicelib.provinces.services.recovery import redrive

    return redrive(call.ctx, _actor(call), call.path["agency_code"])


# -- alert contacts (M12) -----------------------------------------------------------------------------------------

@route(bp, "GET", "/v1/alert-contacts", tag=TAG, access=ADMINS, ok={200: Ok("The contacts in scope.", ContactsList)},
       summary="List registered error-alert contacts (đăng ký nhận cảnh báo lỗi)")
def list_alert_contacts(call: Call):
    from chalicelib.provinces.services.registry import list_contacts

    return {"contacts": list_contacts(call.ctx, _actor(call))}


@route(bp, "GET", "/v1/alert-contacts/{unit_code}/{service_type}", tag=TAG, access=ADMINS, params=(UNIT, SERVICE),
       summary="Alert contacts of a unit and service type", ok={200: Ok("Phones and emails.", ContactsView)},
       problems={**SCOPE, 404: ("ALERT_CONTACTS_NOT_FOUND",)})
def get_alert_contacts(call: Call):
    from chalicelib.provinces.services.registry import get_contacts

    return get_contacts(call.ctx, _actor(call), call.path["unit_code"], call.path["service_type"])


@route(bp, "PUT", "/v1/alert-contacts/{unit_code}/{service_type}", tag=TAG, access=ADMINS, params=(UNIT, SERVICE),
       summary="Register or change a unit's alert phones and emails",
       description="Phones are Vietnamese mobiles, stored E.164; emails are normalised. Each email is "
       "subscribed to the alert-emails topic (the recipient confirms once). Audited.",
       request=AlertContactsIn, ok={200: Ok("Stored contacts.", ContactsView)}, problems=SCOPE)
def put_alert_contacts(call: Call):
    from chalicelib.provinces.services.registry import put_contacts

    return put_contacts(call.ctx, _actor(call), call.path["unit_code"], call.path["service_type"], call.body())


@route(bp, "DELETE", "/v1/alert-contacts/{unit_code}/{service_type}", tag=TAG, access=ADMINS,
       params=(UNIT, SERVICE), summary="Remove a unit's alert contacts", ok={204: Ok("Removed.")},
       problems={**SCOPE, 404: ("ALERT_CONTACTS_NOT_FOUND",)})
def delete_alert_contacts(call: Call):
    from chalicelib.provinces.services.registry import delete_contacts

    delete_contacts(call.ctx, _actor(call), call.path["unit_code"], call.path["service_type"])
    return Reply(status=204)
