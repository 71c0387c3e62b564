"""M11 (configuration) and M12: the province API registry and the error-alert contacts, audited; delivery stats.

Scope: an operator manages every province; a province administrator only the province named in their token
(statistics code, agency code or its H-code). Credentials go to the secret store and are never returned; the audit
record says that they changed, never what they are.
"""
from __future__ import annotations

from typing import Any

from chalicelib.core.errors import AppError, FieldError, forbidden, not_found, validation_error
from chalicelib.core.parsing import parse
from chalicelib.core.validation import InvalidValueError
from chalicelib.outbox import domain as outbox
from chalicelib.provinces.domain.delivery import STATES, ApiType
from chalicelib.provinces.domain.outbound_urls import UrlRefusedError, check_address, parse_target
from chalicelib.provinces.domain.registry import (
    AlertContactsIn,
    ProvinceApi,
    ProvinceApiIn,
    in_scope,
    parse_api_type,
    province_of_unit,
    validate_province_agency_code,
    validate_service_type,
)
from chalicelib.provinces.ports import Actor, ConcurrentChangeError, ProvincesContext
from chalicelib.provinces.services.apis import forget_province

_CONFIG_FIELDS = ("province_code", "province_name", "unit_code", "session_url", "data_url", "connect_timeout_s",
                  "read_timeout_s", "active")


def _code(raw: str) -> str:
    try:
        return validate_province_agency_code(raw)
    except InvalidValueError as exc:
        raise validation_error([FieldError.of("agency_code", exc)]) from None


def _api_type(raw: str) -> ApiType:
    try:
        return parse_api_type(raw)
    except InvalidValueError as exc:
        raise validation_error([FieldError.of("api_type", exc)]) from None


def require_scope(psvc: ProvincesContext, actor: Actor, agency: str) -> None:
    """Operators manage every province; a province administrator the one their directory record names. Never
    decided by anything in the request (a body's province code, an unconfigured province...)."""
    if actor.operator or in_scope(actor.province_claim, agency):
        return
    raise forbidden("PROVINCE_FORBIDDEN", "Bạn chỉ được quản lý cấu hình của tỉnh mình.")


def _check_stats_code(agency: str, stats_code: str) -> None:
    from chalicelib.core.admin_units import province_of

    province = province_of(agency)
    if province is not None and province.stats_code != stats_code:
        # The body's province against the path's: one field against another, a rule with its own code.
        raise validation_error([FieldError("province_code", "PROVINCE_CODE_MISMATCH",
                                           f"Mã tỉnh {stats_code} không phải của {province.name} (mã "
                                           f"{province.stats_code}).", rule=True)])


def _check_url(psvc: ProvincesContext, field: str, url: str) -> None:
    s = psvc.settings.delivery
    try:
        target = parse_target(url, https_only=s.https_only)
        if target.ip_literal:
            check_address(target.host, allow_loopback=s.allow_loopback, port=target.port,
                          allowed_loopback_ports=s.allowed_loopback_ports)
    except UrlRefusedError as exc:
        raise validation_error([FieldError.of(field, exc)]) from None


def put_api(psvc: ProvincesContext, actor: Actor, agency_raw: str, api_type_raw: str, body: Any, *,
            credentials_handed_over: bool = False) -> dict:
    """Create or update one API configuration. ``credentials_handed_over``: the credentials travel separately to the
    secret store (an applied support request hands them over through the outbox), so none are in ``body``."""
    agency, api_type = _code(agency_raw), _api_type(api_type_raw)
    data = parse(ProvinceApiIn, body)
    require_scope(psvc, actor, agency)
    _check_stats_code(agency, data.province_code)
    _check_url(psvc, "session_url", data.session_url)
    _check_url(psvc, "data_url", data.data_url)
    current = psvc.registry.get_apis(agency).get(api_type)
    if credentials_handed_over and data.credentials is not None:
        raise ValueError("credentials are either in the body or handed over, not both")
    if not credentials_handed_over:
        _require_credentials(current, data)
    now = psvc.clock.now().isoformat()
    version = (current.version + 1) if current else 1
    new_credentials = data.credentials is not None or credentials_handed_over
    creds_version = version if new_credentials else current.credentials_version
    api = ProvinceApi(agency_code=agency, api_type=api_type, has_credentials=True, updated_at=now,
                      updated_by=actor.subject, version=version, credentials_version=creds_version,
                      **data.model_dump(include=set(_CONFIG_FIELDS)))
    changes = _diff(current, api)
    intents = []
    if new_credentials:
        changes["credentials"] = "changed"
    if data.credentials is not None:
        intents.append(outbox.store_credentials(agency, api_type.value, data.credentials.model_dump(), version))
    audit = {"action": "api_created" if current is None else "api_updated", "api_type": api_type.value,
             "by": actor.subject, "at": now, "changes": changes}
    try:
        psvc.registry.put_api(api, current.version if current else None, audit, intents)
    except ConcurrentChangeError:
        raise AppError("CONCURRENT_UPDATE", "Cấu hình đang được cập nhật đồng thời, vui lòng thử lại.", 409,
                       "Xung đột") from None
    forget_province(psvc, agency)
    return api.view()


def _require_credentials(current: ProvinceApi | None, data: ProvinceApiIn) -> None:
    """Credentials are required the first time, and again whenever the session URL moves to another host: the
    stored password was given for one server and must not follow the configuration to another one."""
    if data.credentials is not None:
        return
    if current is None:
        raise validation_error([FieldError("credentials", "FIELD_REQUIRED",
                                           "Cần thông tin xác thực khi khai báo API lần đầu.")])
    if _origin(current.session_url) != _origin(data.session_url):
        raise validation_error([FieldError("credentials", "CREDENTIALS_REQUIRED_FOR_NEW_HOST",
                                           "URL API lấy session chuyển sang máy chủ khác: cần nhập lại thông tin "
                                           "xác thực.")])


def _origin(url: str) -> tuple[str, str, int | None]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _diff(before: ProvinceApi | None, after: ProvinceApi) -> dict[str, Any]:
    old = before.model_dump(mode="json") if before else {}
    new = after.model_dump(mode="json")
    return {k: {"from": old.get(k), "to": new[k]} for k in _CONFIG_FIELDS if old.get(k) != new[k]}


def disable_api(psvc: ProvincesContext, actor: Actor, agency_raw: str, api_type_raw: str) -> dict:
    agency, api_type = _code(agency_raw), _api_type(api_type_raw)
    require_scope(psvc, actor, agency)
    current = psvc.registry.get_apis(agency).get(api_type)
    if current is None:
        raise not_found("PROVINCE_API_NOT_FOUND", "Chưa khai báo API này cho tỉnh.")
    now = psvc.clock.now().isoformat()
    api = current.model_copy(update={"active": False, "updated_at": now, "updated_by": actor.subject,
                                     "version": current.version + 1})
    audit = {"action": "api_disabled", "api_type": api_type.value, "by": actor.subject, "at": now,
             "changes": _diff(current, api)}
    try:
        psvc.registry.put_api(api, current.version, audit)
    except ConcurrentChangeError:
        raise AppError("CONCURRENT_UPDATE", "Cấu hình đang được cập nhật đồng thời, vui lòng thử lại.", 409,
                       "Xung đột") from None
    forget_province(psvc, agency)
    return api.view()


def list_apis(psvc: ProvincesContext, actor: Actor, agency_raw: str | None = None) -> list[dict]:
    if agency_raw is not None:
        agency = _code(agency_raw)
        require_scope(psvc, actor, agency)
        return [a.view() for _, a in sorted(psvc.registry.get_apis(agency).items(), key=lambda kv: kv[0].value)]
    apis = psvc.registry.list_apis()
    if not actor.operator:
        apis = [a for a in apis if in_scope(actor.province_claim, a.agency_code)]
    return [a.view() for a in apis]


def audit_trail(psvc: ProvincesContext, actor: Actor, agency_raw: str) -> list[dict]:
    agency = _code(agency_raw)
    require_scope(psvc, actor, agency)
    return psvc.registry.list_audit(agency)


def delivery_stats(psvc: ProvincesContext, actor: Actor, agency_raw: str, state: str | None = None,
                   kind: str | None = None, limit: int = 20, cursor: str | None = None) -> dict:
    """Counts per state and failing_since; with ``state`` also a page of that state's deliveries (newest first)."""
    from chalicelib.core.errors import rule_error

    agency = _code(agency_raw)
    require_scope(psvc, actor, agency)
    counts = psvc.deliveries.counts(agency)
    out: dict[str, Any] = {"agency_code": agency, **{s.lower(): counts.get(s, 0) for s in STATES},
                           "failing_since": psvc.deliveries.oldest_open_failure(agency)}
    if state is not None:
        try:
            items, next_cursor = psvc.deliveries.page(agency, state.upper(), kind, limit, cursor)
        except ValueError:
            raise rule_error("cursor", "CURSOR_INVALID", "Con trỏ phân trang không hợp lệ.") from None
        out |= {"state": state, "items": items, **({"next_cursor": next_cursor} if next_cursor else {})}
    return out


# -- alert contacts (M12) ------------------------------------------------------------------------------------------

def _unit(raw: str) -> str:
    from chalicelib.core.codes import validate_agency_code

    try:
        return validate_agency_code(raw)
    except InvalidValueError as exc:
        raise validation_error([FieldError.of("unit_code", exc)]) from None


def _service(raw: str) -> str:
    try:
        return validate_service_type(raw)
    except InvalidValueError as exc:
        raise validation_error([FieldError.of("service_type", exc)]) from None


def _contacts_view(unit: str, service: str, item: dict) -> dict:
    from chalicelib.provinces.domain.delivery import SERVICE_TYPES

    return {"unit_code": unit, "service_type": service, "service_name": SERVICE_TYPES[service],
            "phones": item.get("phones", []), "emails": item.get("emails", []),
            "updated_at": item.get("updated_at"), "updated_by": item.get("updated_by")}


def put_contacts(psvc: ProvincesContext, actor: Actor, unit_raw: str, service_raw: str, body: Any) -> dict:
    unit, service = _unit(unit_raw), _service(service_raw)
    require_scope(psvc, actor, province_of_unit(unit))
    data = parse(AlertContactsIn, body)
    if not data.phones and not data.emails:
        raise validation_error([FieldError("phones", "CONTACT_REQUIRED", "Cần ít nhất một số điện thoại hoặc email.")])
    now = psvc.clock.now().isoformat()
    before = psvc.registry.get_contacts(unit, service) or {}
    # SNS asks each new address to confirm its subscription; sent by the outbox with the change, never inline.
    intents = [outbox.subscribe_email(email, ref=unit) for email in data.emails if email not in before.get("emails", [])]
    item = {"phones": data.phones, "emails": data.emails, "updated_at": now, "updated_by": actor.subject}
    audit = {"action": "contacts_updated" if before else "contacts_created", "unit_code": unit,
             "service_type": service, "by": actor.subject, "at": now,
             "changes": {"phones": {"added": len(set(data.phones) - set(before.get("phones", []))),
                                    "removed": len(set(before.get("phones", [])) - set(data.phones))},
                         "emails": {"added": len(set(data.emails) - set(before.get("emails", []))),
                                    "removed": len(set(before.get("emails", [])) - set(data.emails))}}}
    psvc.registry.put_contacts(unit, service, item, audit, intents)
    return _contacts_view(unit, service, item)


def get_contacts(psvc: ProvincesContext, actor: Actor, unit_raw: str, service_raw: str) -> dict:
    unit, service = _unit(unit_raw), _service(service_raw)
    require_scope(psvc, actor, province_of_unit(unit))
    item = psvc.registry.get_contacts(unit, service)
    if item is None:
        raise not_found("ALERT_CONTACTS_NOT_FOUND", "Chưa đăng ký người nhận cảnh báo cho đơn vị và dịch vụ này.")
    return _contacts_view(unit, service, item)


def list_contacts(psvc: ProvincesContext, actor: Actor) -> list[dict]:
    items = psvc.registry.list_contacts()
    out = []
    for item in items:
        province = province_of_unit(item["unit_code"])
        if actor.operator or in_scope(actor.province_claim, province):
            out.append(_contacts_view(item["unit_code"], item["service_type"], item))
    return out


def delete_contacts(psvc: ProvincesContext, actor: Actor, unit_raw: str, service_raw: str) -> None:
    unit, service = _unit(unit_raw), _service(service_raw)
    require_scope(psvc, actor, province_of_unit(unit))
    audit = {"action": "contacts_removed", "unit_code": unit, "service_type": service, "by": actor.subject,
             "at": psvc.clock.now().isoformat()}
    if not psvc.registry.delete_contacts(unit, service, audit):
        raise not_found("ALERT_CONTACTS_NOT_FOUND", "Chưa đăng ký người nhận cảnh báo cho đơn vị và dịch vụ này.")
