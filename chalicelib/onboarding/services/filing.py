"""Filing a support request (province administrator, own province): the form checked, attachments checked by
content, a configuration request's URLs put through the SSRF-safe API check and its credentials sealed for the
secret store, a confirmation request's evidence checked; then one transaction writes the request, its audit
record, its clock timer and the intents (the feedback address subscribed, the "received" email)."""
from __future__ import annotations

import logging
from typing import Any

from chalicelib.core import admin_units
from chalicelib.core.errors import AppError, FieldError, conflict, forbidden, validation_error
from chalicelib.core.parsing import parse
from chalicelib.core.validation import InvalidValueError
from chalicelib.onboarding.domain.requests import (
    ApiConfigIn,
    Caller,
    EvidenceIn,
    HistoryEntry,
    Party,
    Status,
    StoredApi,
    SupportRequest,
    SupportRequestIn,
    service_group,
    service_of,
)
from chalicelib.onboarding.ports import OnboardingContext
from chalicelib.onboarding.services.attachments import accept, mark_accepted
from chalicelib.onboarding.services.common import audit_record, request_view, status_intents, timer_epoch
from chalicelib.onboarding.services.progress import completed_steps, record_step_event
from chalicelib.outbox import domain as intents
from chalicelib.provinces.domain.delivery import ApiType
from chalicelib.provinces.domain.outbound_urls import UrlRefusedError
from chalicelib.provinces.ports import Actor
from chalicelib.provinces.services.api_check import check_candidate

log = logging.getLogger(__name__)


def _field(field: str, code: str, message: str) -> AppError:
    return validation_error([FieldError(field, code, message)])


def _unit(caller: Caller, raw: str | None) -> admin_units.Province:
    code = raw or caller.province
    if not code:
        raise forbidden("PROVINCE_FORBIDDEN", "Tài khoản chưa gắn với tỉnh nào nên không gửi được yêu cầu.")
    try:
        p = admin_units.current_province(code)
    except InvalidValueError:
        raise _field("unit_code", "PROVINCE_UNKNOWN", "Không phải mã của một trong 34 tỉnh, thành phố.") from None
    if not admin_units.same_province(caller.province, p.agency_id):
        raise forbidden("PROVINCE_FORBIDDEN", "Bạn chỉ được gửi yêu cầu hỗ trợ cho tỉnh mình.")
    return p


def _group(data: SupportRequestIn) -> tuple[dict[str, str], dict[str, str] | None]:
    try:
        group = service_group(data.service_group)
    except InvalidValueError as exc:
        raise _field("service_group", exc.code, exc.message) from None
    try:
        return {"code": group["code"], "name": group["name"]}, service_of(group, data.service)
    except InvalidValueError as exc:  # a service of another group: one field against another, a rule
        raise validation_error([FieldError("service", exc.code, exc.message, rule=True)]) from None


def _checked_apis(ctx: OnboardingContext, caller: Caller, p: admin_units.Province,
                  apis: list[ApiConfigIn]) -> list[StoredApi]:
    """Each API's URLs through the guard and its session call (the data URL is never called here); credentials
    required for an API the province has not configured yet; then sealed for the secret store."""
    if not apis:
        return []
    actor = Actor(subject=caller.subject, operator=False, province_claim=p.agency_id)
    configured = ctx.registry.get_apis(p.agency_id)
    errors, checks = [], []
    for i, api in enumerate(apis):
        if api.credentials is None and ApiType(api.api_type) not in configured:
            errors.append(FieldError(f"apis.{i}.credentials", "CREDENTIALS_REQUIRED",
                                     "Cần thông tin xác thực cho API chưa từng được cấu hình."))
            continue
        try:
            checks.append(check_candidate(ctx, actor, p.agency_id, ApiType(api.api_type), api.session_url,
                                          api.data_url, api.credentials.model_dump() if api.credentials else None,
                                          ctx.settings.onboarding.check_timeout_s))
        except UrlRefusedError as exc:
            errors.append(FieldError.of(f"apis.{i}.{getattr(exc, 'field', 'session_url')}", exc))
    if errors:
        raise validation_error(errors)
    return [StoredApi(api_type=api.api_type, session_url=api.session_url, data_url=api.data_url,
                      unit_code=api.unit_code or p.agency_id, connect_timeout_s=api.connect_timeout_s,
                      read_timeout_s=api.read_timeout_s, has_credentials=api.credentials is not None,
                      sealed_credentials=_seal(ctx, p.agency_id, api), check=check)
            for api, check in zip(apis, checks, strict=True)]


def _seal(ctx: OnboardingContext, agency: str, api: ApiConfigIn) -> str | None:
    if api.credentials is None:
        return None
    return ctx.credential_sealer.seal(agency, api.api_type, api.credentials.model_dump_json().encode())


def _evidence(ctx: OnboardingContext, p: admin_units.Province, evidence: EvidenceIn | None) -> dict | None:
    if evidence is None:
        return None
    if completed_steps(ctx, p.agency_id) < 4:
        raise conflict("ONBOARDING_STEP_NOT_REACHED", "Chưa hoàn thành bước 4 (kiểm thử giao dịch): chưa thể đề "
                       "nghị xác nhận tích hợp thành công.")
    out: dict[str, Any] = {"attachment_ids": evidence.attachment_ids, "self_test_run_id": evidence.self_test_run_id}
    if evidence.self_test_run_id:
        run = ctx.self_test_runs.get(evidence.self_test_run_id)
        field = "evidence.self_test_run_id"
        if run is None:
            raise _field(field, "SELF_TEST_RUN_NOT_FOUND", "Không tìm thấy lượt tự kiểm thử này.")
        try:
            run_agency = admin_units.current_province(str(run.get("province", ""))).agency_id
        except InvalidValueError:
            run_agency = None
        if run_agency != p.agency_id:
            raise _field(field, "SELF_TEST_RUN_OTHER_PROVINCE", "Lượt tự kiểm thử này là của tỉnh khác.")
        if not run.get("passed"):
            raise _field(field, "SELF_TEST_RUN_FAILED", "Lượt tự kiểm thử chưa đạt nên không dùng làm minh chứng.")
        out["self_test"] = {k: run.get(k) for k in ("run_id", "passed", "finished_at", "evidence")}
    return out


def file_request(ctx: OnboardingContext, caller: Caller, body: Any) -> dict[str, Any]:
    data = parse(SupportRequestIn, body)
    p = _unit(caller, data.unit_code)
    group, service = _group(data)
    evidence = _evidence(ctx, p, data.evidence)
    attachments = accept(ctx, caller, data.attachments, "attachments")
    apis = _checked_apis(ctx, caller, p, data.apis)
    now = ctx.clock.now()
    at = now.isoformat()
    request = SupportRequest(
        request_id="YC" + ctx.new_id(), request_type=data.request_type, unit_code=p.agency_id, unit_name=p.name,
        service_group=group, service=service, requester_name=data.requester_name,
        requester_phone=data.requester_phone, contact=data.contact.model_dump() if data.contact else None,
        feedback_email=data.feedback_email, title=data.title, description=data.description,
        attachments=attachments, apis=apis, evidence=evidence, status=Status.NEW,
        history=[HistoryEntry(status=Status.NEW, at=at, by=caller.subject, party=Party.REQUESTER)],
        created_at=at, created_by=caller.subject, updated_at=at)
    audit = audit_record(caller, "filed", at, request_type=data.request_type, attachments=len(attachments),
                         apis=[a.api_type for a in apis], credentials_sealed=sum(1 for a in apis if a.has_credentials))
    sent = [intents.subscribe_email(data.feedback_email, ref=request.request_id), *status_intents(ctx, request)]
    ctx.support_requests.create(request, audit, sent, timer_epoch(ctx, request, now))
    mark_accepted(ctx, attachments)
    _report_steps(ctx, request)
    ctx.count("SupportRequestsFiled")
    return request_view(ctx, request, [], [audit])


def _report_steps(ctx: OnboardingContext, request: SupportRequest) -> None:
    step = {"api_configuration": 2, "integration_confirmation": 5}.get(request.request_type)
    if step is None:
        return
    evidence = {"request_id": request.request_id, "by": request.created_by}
    if step == 2:
        evidence["api_types"] = [a.api_type for a in request.apis]
    else:
        evidence.update({k: v for k, v in (request.evidence or {}).items() if k != "self_test"})
    safely_record(ctx, request.unit_code, step, evidence)


def safely_record(ctx: OnboardingContext, province: str, step: int, evidence: dict[str, Any]) -> None:
    """A step event after the request's own write: its loss is logged, never turned into the caller's error."""
    try:
        record_step_event(ctx, province, step, evidence)
    except Exception:  # the request is stored; the dashboard catches up on the next event
        log.exception("onboarding step event not recorded", extra={"province": province, "step": step})
