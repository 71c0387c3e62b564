"""M11 API check ("like Postman"): an administrator sends a sample body to a configured province API, or to a new
URL with a chosen API type, and sees status, headers, a size-capped body and latency.

The server is calling a URL a person typed, so every call goes through the SSRF guard of the HTTP adapter (https
only in production, host resolved and refused if private, loopback, link-local or metadata, no redirects followed,
short timeout), and every check - refused ones included - leaves an audit record.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.errors import AppError, not_found
from chalicelib.core.fields import OutboundUrl, ProvinceAgencyCode
from chalicelib.core.parsing import parse
from chalicelib.provinces.domain.delivery import ApiType, InvalidAnswerError, check_answer, token_from_session_answer
from chalicelib.provinces.domain.outbound_urls import UrlRefusedError, check_address, parse_target
from chalicelib.provinces.ports import Actor, HttpAnswer, ProvinceCallError, ProvincesContext
from chalicelib.provinces.services.registry import _api_type, _code, require_scope
from chalicelib.provinces.services.steps import report_step

_SHOWN_HEADERS_DROPPED = {"set-cookie"}


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: dict[str, Any] = Field(description="Sample JSON body sent as it is.")


class CheckUrlIn(CheckIn):
    url: OutboundUrl = Field(min_length=8, max_length=2048)
    api_type: Literal["notice", "payment_result", "receipt_file"] = Field(
        description="notice, payment_result or receipt_file.")
    agency_code: ProvinceAgencyCode | None = Field(default=None,
                                                   description="Province the check is for (audit and scope).")


def _view(url: str, answer: HttpAnswer) -> dict[str, Any]:
    headers = {k: v for k, v in answer.headers.items() if k.lower() not in _SHOWN_HEADERS_DROPPED}
    out: dict[str, Any] = {"url": url, "status": answer.status, "headers": headers,
                           "body": answer.body.decode("utf-8", errors="replace"), "truncated": answer.truncated,
                           "latency_ms": round(answer.latency_ms, 1)}
    if 300 <= answer.status < 400:
        out["redirect_not_followed"] = True
    return out


def _refused(psvc: ProvincesContext, actor: Actor, agency: str, url: str, exc: UrlRefusedError) -> AppError:
    psvc.registry.audit(agency, {"action": "api_check_refused", "by": actor.subject, "at": psvc.clock.now().isoformat(),
                                 "url": url[:300], "code": exc.code})
    return AppError(exc.code, exc.message, 422, "Địa chỉ không được phép")


def _call(psvc: ProvincesContext, url: str, body: Any, headers: dict[str, str], connect_s: float,
          read_s: float) -> dict[str, Any]:
    s = psvc.settings.delivery
    try:
        answer = psvc.http.post_json(url, body, headers, min(connect_s, s.check_timeout_s),
                                     min(read_s, s.check_timeout_s), body_cap=s.check_body_cap_bytes)
    except ProvinceCallError as exc:
        return {"url": url, "error": {"code": exc.code, "message": "Không kết nối được hoặc quá thời gian chờ."}}
    return _view(url, answer)


def _session_and_data(psvc: ProvincesContext, api_type: ApiType, session_url: str, data_url: str | None,
                      creds: dict[str, Any], sample: Any, connect_s: float, read_s: float) -> dict[str, Any]:
    """The session call (its body, the token, never shown), then the data call with the token unless ``data_url`` is
    None. Raises UrlRefusedError from the guard."""
    import json

    result: dict[str, Any] = {"api_type": api_type.value}
    session = _call(psvc, session_url, creds, {}, connect_s, read_s)
    session_body = session.pop("body", "")  # the token is a secret: never shown
    result["session"] = {**session, "token_received": False}
    token = None
    if 200 <= session.get("status", 0) < 300:
        try:
            token, _ = token_from_session_answer(json.loads(session_body))
            result["session"]["token_received"] = True
        except (ValueError, InvalidAnswerError):
            pass
    if data_url is not None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        result["data"] = _call(psvc, data_url, sample, headers, connect_s, read_s)
    return result


def check_configured(psvc: ProvincesContext, actor: Actor, agency_raw: str, api_type_raw: str, body: Any) -> dict:
    agency, api_type = _code(agency_raw), _api_type(api_type_raw)
    require_scope(psvc, actor, agency)
    sample = parse(CheckIn, body)
    api = psvc.registry.get_apis(agency).get(api_type)
    if api is None:
        raise not_found("PROVINCE_API_NOT_FOUND", "Chưa khai báo API này cho tỉnh.")
    creds = psvc.credentials.get(agency, api_type, api.credentials_version)
    if (creds.version if creds else 0) < api.credentials_version:
        # The new credentials are on their way to the secret store (the outbox writes them within seconds).
        raise AppError("CREDENTIALS_PENDING", "Thông tin xác thực mới đang được lưu, vui lòng kiểm tra lại sau ít "
                       "giây.", 409, "Chưa sẵn sàng")
    try:
        checked = _session_and_data(psvc, api_type, api.session_url, api.data_url, creds.model_dump() if creds else {},
                                    sample.body, api.connect_timeout_s, api.read_timeout_s)
    except UrlRefusedError as exc:
        raise _refused(psvc, actor, agency, api.data_url, exc) from None
    result = {"agency_code": agency, **checked}
    _audit(psvc, actor, agency, api.data_url, api_type.value, result.get("data", {}))
    if answered_correctly(result["data"]):
        report_step(psvc, agency, 1, {"api_type": api_type.value, "via": "configured_api", "by": actor.subject,
                                      "status": result["data"].get("status")})
    return result


def check_candidate(psvc: ProvincesContext, actor: Actor, agency: str, api_type: ApiType, session_url: str,
                    data_url: str, credentials: dict[str, Any] | None, timeout_s: float = 3.0) -> dict[str, Any]:
    """The API check of a configuration not stored yet (a configuration request being filed): both URLs through the
    guard, then the session call with the given credentials (else the stored ones). The data URL is not called: a
    sample payment result must never reach a province's real software unasked. Audited. Raises UrlRefusedError
    with ``field`` set ("session_url" or "data_url") when the guard refuses a URL."""
    field = "data_url"
    try:
        _static_check(psvc, data_url)
        field = "session_url"
        _static_check(psvc, session_url)
        if credentials is None:
            stored = psvc.credentials.get(agency, api_type)
            credentials = stored.model_dump() if stored else None
        if credentials is None:
            checked = {"api_type": api_type.value, "session": {"url": session_url, "error": {
                "code": "NO_CREDENTIALS", "message": "Chưa có thông tin xác thực để gọi API lấy session."}}}
        else:
            checked = _session_and_data(psvc, api_type, session_url, None, credentials, None, timeout_s, timeout_s)
    except UrlRefusedError as exc:
        _refused(psvc, actor, agency, session_url if field == "session_url" else data_url, exc)
        exc.field = field  # type: ignore[attr-defined]
        raise
    _audit(psvc, actor, agency, session_url, api_type.value, checked["session"])
    return {**checked, "data_url": data_url, "data_url_called": False}


def _static_check(psvc: ProvincesContext, url: str) -> None:
    """What can be refused without a DNS lookup (scheme, user info, IP encodings, a literal private address)."""
    s = psvc.settings.delivery
    target = parse_target(url, https_only=s.https_only)
    if target.ip_literal:
        check_address(target.host, allow_loopback=s.allow_loopback, port=target.port,
                      allowed_loopback_ports=s.allowed_loopback_ports)


def answered_correctly(view: dict[str, Any]) -> bool:
    """A 2xx answer whose JSON body does not report an error (what step 1 of the integration asks for)."""
    import json

    if not 200 <= (view.get("status") or 0) < 300 or view.get("truncated"):
        return False
    try:
        check_answer(json.loads(view.get("body") or ""))
    except ValueError:  # not JSON, or InvalidAnswerError
        return False
    return True


def check_url(psvc: ProvincesContext, actor: Actor, body: Any) -> dict:
    data = parse(CheckUrlIn, body)
    api_type = _api_type(data.api_type)
    agency = _code(data.agency_code) if data.agency_code else None
    if agency is not None:
        require_scope(psvc, actor, agency)
    elif not actor.operator:
        agency = _own_agency(actor)
    scope = agency or "ADHOC"
    try:
        result = _call(psvc, data.url, data.body, {}, 3.0, psvc.settings.delivery.check_timeout_s)
    except UrlRefusedError as exc:
        raise _refused(psvc, actor, scope, data.url, exc) from None
    _audit(psvc, actor, scope, data.url, api_type.value, result)
    if agency is not None and answered_correctly(result):
        report_step(psvc, agency, 1, {"api_type": api_type.value, "via": "url_check", "by": actor.subject,
                                      "status": result.get("status")})
    return {"api_type": api_type.value, **result}


def _own_agency(actor: Actor) -> str:
    from chalicelib.core.errors import rule_error

    # Only an operator may check a URL for no province: a rule of the caller's role, beyond the (shared) schema.
    raise rule_error("agency_code", "AGENCY_CODE_REQUIRED", "Cần mã định danh của tỉnh được kiểm tra.")


def _audit(psvc: ProvincesContext, actor: Actor, agency: str, url: str, api_type: str, result: dict) -> None:
    psvc.registry.audit(agency, {"action": "api_check", "by": actor.subject, "at": psvc.clock.now().isoformat(),
                                 "url": url[:300], "api_type": api_type, "status": result.get("status"),
                                 "error": (result.get("error") or {}).get("code"),
                                 "latency_ms": result.get("latency_ms")})


def samples(psvc: ProvincesContext, actor: Actor, agency_raw: str | None) -> dict:
    """The sample body of each API type, as the portal builds its payloads (for the province's unit code when a
    province is named and in scope)."""
    from chalicelib.core.admin_units import province_of
    from chalicelib.provinces.domain.delivery import sample_payloads

    unit, stats = "000.00.00.H00", "00"
    if agency_raw is not None:
        agency = _code(agency_raw)
        require_scope(psvc, actor, agency)
        province = province_of(agency)
        configured = next(iter(psvc.registry.get_apis(agency).values()), None)
        unit = configured.unit_code if configured else agency
        stats = province.stats_code if province else stats
    return {"samples": [{"api_type": t.value, "api_type_label": t.label_vi, "body": body}
                        for t, body in sample_payloads(unit, stats).items()]}
