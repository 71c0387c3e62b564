"""The self-test as the API serves it: start a run (202: the job runs it), read runs, hand out the evidence.

Starting writes, in one transaction, the province's limiter (one run at a time, ``max_per_hour`` per hour), the run
and the outbox intent that hands it to the job; the answer does not wait for the province. A live province is
refused (409 PROVINCE_LIVE): once live it receives no test data any more.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.core.clock import VN_TZ, epoch
from chalicelib.core.errors import AppError, FieldError, conflict, not_found, validation_error
from chalicelib.core.validation import InvalidValueError
from chalicelib.outbox import domain as outbox
from chalicelib.provinces.domain.registry import validate_province_agency_code
from chalicelib.provinces.ports import Actor
from chalicelib.provinces.services.registry import require_scope
from chalicelib.selftest.domain import RateLimitedError, SelfTestRun
from chalicelib.selftest.ports import StaleRunError

MAX_ATTEMPTS = 5
RUN_ID_PREFIX = "ST"


def _agency(raw: str) -> str:
    try:
        return validate_province_agency_code(raw)
    except InvalidValueError as exc:
        raise validation_error([FieldError("agency_code", exc.code, exc.message)]) from None


def _rate_limited(exc: RateLimitedError) -> AppError:
    return AppError(exc.code, exc.message, 429, "Quá nhiều yêu cầu", headers={"Retry-After": str(exc.retry_after_s)},
                    extra={"retry_after_s": exc.retry_after_s})


def start_run(ctx, actor: Actor, agency_raw: str) -> dict:
    agency = _agency(agency_raw)
    require_scope(ctx, actor, agency)
    apis = ctx.registry.get_apis(agency)
    if not apis:
        raise conflict("PROVINCE_NOT_CONFIGURED", "Tỉnh chưa khai báo API nào: hãy cấu hình API (bước 2, 3) trước "
                       "khi kiểm thử tích hợp.")
    if ctx.step_events.is_live(agency):
        raise conflict("PROVINCE_LIVE", "Tỉnh đã hoàn thành tích hợp và đang vận hành chính thức: không gửi dữ liệu "
                       "kiểm thử tới phần mềm một cửa của tỉnh nữa.")
    now = ctx.clock.now()
    run_id = f"{RUN_ID_PREFIX}{ctx.new_id()}"
    name = next(iter(apis.values())).province_name
    for _ in range(MAX_ATTEMPTS):
        limiter = ctx.selftests.limiter(agency)
        try:
            admitted = limiter.admit(run_id, epoch(now), ctx.settings.selftest)
        except RateLimitedError as exc:
            raise _rate_limited(exc) from None
        run = SelfTestRun(run_id=run_id, province=agency, province_name=name, requested_by=actor.subject,
                          requested_role="operator" if actor.operator else "province_admin",
                          created_at=now.isoformat(), lease_until=admitted.running_until)
        try:
            ctx.selftests.start(run, admitted, limiter.rev, [outbox.run_selftest(run_id, agency)])
        except StaleRunError:
            continue  # another start for this province won the race: read its limiter again
        ctx.count("SelfTestsStarted")
        return run_view(run, epoch(now))
    raise AppError("CONCURRENT_UPDATE", "Đang có yêu cầu kiểm thử khác của tỉnh, vui lòng thử lại.", 409, "Xung đột")


def _run(ctx, actor: Actor, run_id: str) -> SelfTestRun:
    run = ctx.selftests.get(run_id) if run_id.startswith(RUN_ID_PREFIX) and len(run_id) <= 40 else None
    if run is None:
        raise not_found("SELFTEST_NOT_FOUND", "Không tìm thấy lượt kiểm thử tích hợp.")
    require_scope(ctx, actor, run.province)
    return run


def run_view(run: SelfTestRun, now: int) -> dict:
    """The run as the API shows it; a run its job never finished reads ``error`` once its lease is over."""
    out = run.model_dump(mode="json", exclude={"rev", "lease_until"})
    if run.interrupted(now):
        out.update(status="error", error="Lượt kiểm thử bị gián đoạn (hệ thống không hoàn thành); hãy chạy lại.")
    out["verdict"] = {"passed": "ĐẠT", "failed": "KHÔNG ĐẠT", "error": "KHÔNG ĐẠT"}.get(out["status"])
    out["links"] = {"self": f"/v1/selftests/{run.run_id}", "evidence": f"/v1/selftests/{run.run_id}/evidence"}
    if run.finished and run.evidence is not None:
        # What the step-5 confirmation request attaches in one action (the support-request capability reads it).
        out["attachment"] = {"kind": "selftest_evidence", "run_id": run.run_id, "province": run.province,
                             "verdict": out["verdict"], "pdf_key": run.evidence.pdf_key,
                             "json_key": run.evidence.json_key}
    return out


def get_run(ctx, actor: Actor, run_id: str) -> dict:
    return run_view(_run(ctx, actor, run_id), epoch(ctx.clock.now()))


def list_runs(ctx, actor: Actor, agency_raw: str) -> dict:
    agency = _agency(agency_raw)
    require_scope(ctx, actor, agency)
    now = epoch(ctx.clock.now())
    return {"province": agency, "runs": [run_view(r, now) for r in ctx.selftests.list(agency)]}


def evidence_links(ctx, actor: Actor, run_id: str) -> dict:
    """Presigned download links of the run's evidence report (PDF) and data (JSON)."""
    run = _run(ctx, actor, run_id)
    if not run.finished or run.evidence is None:
        raise conflict("SELFTEST_NOT_FINISHED", "Lượt kiểm thử chưa kết thúc nên chưa có báo cáo minh chứng.",
                       status=run.status)
    ttl = ctx.settings.selftest.evidence_url_ttl_s
    expires = datetime.fromtimestamp(epoch(ctx.clock.now()) + ttl, VN_TZ).isoformat()
    name = f"bao-cao-kiem-thu-{run.province.rsplit('.', 1)[1]}-{run.run_id}"
    return {"run_id": run.run_id, "expires_at": expires,
            "pdf": {"key": run.evidence.pdf_key, "url": ctx.evidence.download_url(run.evidence.pdf_key, ttl,
                                                                                   f"{name}.pdf")},
            "json": {"key": run.evidence.json_key, "url": ctx.evidence.download_url(run.evidence.json_key, ttl,
                                                                                     f"{name}.json")}}
