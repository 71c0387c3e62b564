"""The self-test job: play one run end to end and keep its evidence (report PDF + JSON in the evidence store).

Steps, in order: the test dossier and notice (portal), lookup (portal), payment at the test bank (portal), the
bank's success and the receipt from the test series (portal), then for each province API - notice, payment result,
receipt file - the session call and the delivery of the test payload (``"test": true``). A portal step that fails
stops the portal steps (the province is not blamed: the run ends ``error``); a province step that fails is kept with
what to fix and the next API is still tried, so one run shows everything the province has to correct.

The job is at least once (SQS): a run that is no longer ``queued`` is not played again; one whose job died keeps
the province's slot until its lease ends and is then closed as ``error``.
"""
from __future__ import annotations

import json
import logging
import random
import secrets
import time
from typing import Any, Callable

from chalicelib.core import admin_units
from chalicelib.core.clock import epoch
from chalicelib.onboarding.domain import EvidenceReport, EvidenceStep, record_step
from chalicelib.payments.services.lookup import lookup
from chalicelib.payments.services.test_payments import create_test_dossier, settle_test_payment, start_test_payment
from chalicelib.provinces.domain.delivery import ApiType, notice_payload, payment_result_payload, receipt_file_payload
from chalicelib.selftest.domain import (
    SelfTestRun,
    StepView,
    evidence_keys,
    make_batch,
    make_dossier_code,
    make_id_number,
)
from chalicelib.selftest.ports import StaleRunError
from chalicelib.selftest.services.calls import deliver, fetch_session

log = logging.getLogger(__name__)
PORTAL = "https://dichvucong.gov.vn"
OPTIONAL = frozenset({ApiType.NOTICE, ApiType.RECEIPT_FILE})
PORTAL_FIX = ("Lỗi của Cổng Dịch vụ công quốc gia khi {what} ({error}): không phải lỗi của tỉnh; lượt kiểm thử "
              "dừng lại, hãy báo quản trị Cổng và chạy lại.")


class _PortalStepFailed(Exception):
    pass


class Script:
    """One run's steps and the facts they pass on (the test dossier, payment, receipt)."""

    def __init__(self, ctx, run: SelfTestRun) -> None:
        self.ctx, self.run = ctx, run
        self.steps: list[EvidenceStep] = []
        self.facts: dict[str, Any] = {}
        self.portal_failed = False

    def _portal(self, name: str, path: str, what: str, action: Callable[[], tuple[Any, Any]]) -> Any:
        started = time.perf_counter()
        try:
            request, answer = action()
        except Exception as exc:
            log.warning("self-test portal step failed", exc_info=True, extra={"run_id": self.run.run_id, "step": name})
            self.steps.append(record_step(name=name, url=PORTAL + path, result="failed", error=type(exc).__name__,
                                          fix=PORTAL_FIX.format(what=what, error=getattr(exc, "code", "lỗi hệ thống")),
                                          latency_ms=(time.perf_counter() - started) * 1000))
            self.portal_failed = True
            raise _PortalStepFailed() from None
        self.steps.append(record_step(name=name, url=PORTAL + path, result="passed", request_body=request,
                                      status=200, response_body=json.dumps(answer, ensure_ascii=False, default=str),
                                      latency_ms=(time.perf_counter() - started) * 1000))
        return answer

    def _commune(self, apis) -> str:
        """A commune of the province for the test notice (any current commune if the province is not known)."""
        stats = next((a.province_code for a in apis.values()), None)
        for key in (stats, self.run.province):  # the registered statistics code (of either list), else the H-code
            try:
                return admin_units.communes_of_province(admin_units.current_province(key or "").stats_code)[0].code
            except (ValueError, IndexError):
                continue
        return admin_units.communes_of_province("01")[0].code

    def play_portal(self, apis) -> None:
        ctx, run, now = self.ctx, self.run, self.ctx.clock.now()
        rng = random.Random(secrets.randbits(64))
        body = make_batch(make_dossier_code(run.province, now, rng), make_id_number(rng), run.run_id,
                          self._commune(apis), now)
        dossier = self._portal("Tạo hồ sơ và thông báo thuế kiểm thử", "/v1/partners/notices (nội bộ)",
                               "tạo hồ sơ kiểm thử", lambda: (body, _dossier_answer(create_test_dossier(ctx, body))))
        key = {"dossier_code": body["dossier_code"], "id_number": body["id_number"]}
        found = self._portal("Tra cứu hồ sơ (mã hồ sơ và số giấy tờ)", "/v1/lookup (nội bộ)", "tra cứu hồ sơ",
                             lambda: (key, lookup(ctx, key)))
        notice_number = found["notices"][0]["notice_number"]
        payment = self._portal("Thanh toán qua ngân hàng kiểm thử", "/v1/payments (nội bộ)", "tạo giao dịch kiểm thử",
                               lambda: ({**key, "notice_number": notice_number, "bank_code": "KTHU"},
                                        start_test_payment(ctx, key["dossier_code"], key["id_number"], notice_number)
                                        .model_dump(mode="json", include={"payment_id", "state", "amount_vnd",
                                                                          "bank_code", "test"})))
        paid = self._portal("Ngân hàng kiểm thử báo thành công, lập biên lai (dãy số kiểm thử)",
                            "/v1/partners/banks/KTHU (nội bộ)", "lập biên lai kiểm thử",
                            lambda: ({"payment_id": payment["payment_id"], "status": "SUCCESS"},
                                     _settled(ctx, payment["payment_id"])))
        self.facts.update(dossier=dossier, notice=_notice_doc(body, dossier), payment_id=payment["payment_id"],
                          receipt=paid)

    def play_province(self, apis) -> None:
        for api_type in (ApiType.NOTICE, ApiType.PAYMENT_RESULT, ApiType.RECEIPT_FILE):
            api = apis.get(api_type)
            label = api_type.label_vi
            if api is None:
                self._absent(api_type, label)
                continue
            if not api.active:
                self.steps.append(record_step(name=f"{label}: trạng thái", url=api.data_url, api_type=label,
                                              result="failed", fix=f"{label} đang tạm dừng: bật lại API (cấu hình) "
                                              "trước khi kiểm thử."))
                continue
            session, token = fetch_session(self.ctx, api)
            self.steps.append(session)
            if token is None:
                self.steps.append(record_step(name=f"Gửi dữ liệu ({label})", url=api.data_url, api_type=label,
                                              result="skipped", note="Bỏ qua: không lấy được token của API này."))
                continue
            self.steps.append(deliver(self.ctx, api, self._payload(api), token))

    def _absent(self, api_type: ApiType, label: str) -> None:
        if api_type in OPTIONAL:
            self.steps.append(record_step(name=f"{label}", url="-", api_type=label, result="skipped",
                                          note=f"Tỉnh chưa cấu hình {label} (không bắt buộc)."))
        else:
            self.steps.append(record_step(name=f"{label}", url="-", api_type=label, result="failed",
                                          fix=f"Tỉnh chưa cấu hình {label} (bắt buộc): gửi yêu cầu cấu hình URL API "
                                          "(bước 2)."))

    def _payload(self, api) -> dict:
        receipt = self.facts["receipt"]
        if api.api_type is ApiType.PAYMENT_RESULT:
            payload = payment_result_payload(receipt, api.unit_code)
        elif api.api_type is ApiType.RECEIPT_FILE:
            payload = receipt_file_payload(receipt, api.unit_code, self.ctx.receipt_pdf(receipt))
        else:
            payload = notice_payload(self.facts["notice"], api.unit_code)
        return {**payload, "test": True, "test_run_id": self.run.run_id}


def _dossier_answer(dossier) -> dict:
    return {"dossier_code": dossier.dossier_code, "test": dossier.test, "commune": dossier.commune_view(),
            "notices": sorted(dossier.notices)}


def _notice_doc(body: dict, dossier: dict) -> dict:
    """The notice as the province's notice API receives it (as intake forwards it), without ID number or phone."""
    notice = body["notices"][0]
    return {"dossier_code": body["dossier_code"], "commune_code": body["commune_code"],
            "commune_code_system": "gso", "standard_commune_code": dossier["commune"]["standard_commune_code"],
            "standard_commune_version": dossier["commune"]["standard_commune_version"],
            "property": body["property"], **notice}


def _settled(ctx, payment_id: str) -> dict:
    payment = ctx.ledger.get_payment(payment_id)
    _, receipt = settle_test_payment(ctx, payment)
    return receipt.model_dump(mode="json")


# -- the job ------------------------------------------------------------------------------------------------------

def _save(ctx, run: SelfTestRun, **changes) -> SelfTestRun:
    updated = run.model_copy(update={**changes, "rev": run.rev + 1})
    ctx.selftests.save(updated, run.rev)
    return updated


def _release(ctx, run: SelfTestRun) -> None:
    for _ in range(5):
        limiter = ctx.selftests.limiter(run.province)
        freed = limiter.release(run.run_id)
        if freed is limiter:
            return
        try:
            ctx.selftests.save_limiter(run.province, freed, limiter.rev)
            return
        except StaleRunError:
            continue


def run_selftest(ctx, run_id: str) -> str:
    """Play the run once; returns what happened (for the job's log): done, busy, missing, interrupted, or the
    run's final status."""
    run = ctx.selftests.get(run_id)
    now = epoch(ctx.clock.now())
    if run is None:
        return "missing"
    if run.finished:
        return "done"
    if run.status == "running":
        if not run.interrupted(now):
            return "busy"
        _save(ctx, run, status="error", finished_at=ctx.clock.now().isoformat(),
              error="Lượt kiểm thử bị gián đoạn (hệ thống không hoàn thành); hãy chạy lại.")
        _release(ctx, run)
        return "interrupted"
    try:
        run = _save(ctx, run, status="running", started_at=ctx.clock.now().isoformat(),
                    lease_until=now + ctx.settings.selftest.lease_s)
    except StaleRunError:
        return "busy"  # another delivery of the same message took it
    return _play(ctx, run)


def _play(ctx, run: SelfTestRun) -> str:
    script = Script(ctx, run)
    apis = ctx.registry.get_apis(run.province)
    try:
        script.play_portal(apis)
        script.play_province(apis)
    except _PortalStepFailed:
        pass
    report = EvidenceReport(province_name=run.province_name, province_code=run.province, run_id=run.run_id,
                            started_at=run.started_at, finished_at=ctx.clock.now(), steps=script.steps,
                            requested_by=run.requested_role)
    keys = evidence_keys(run.province, run.run_id)
    status = "error" if script.portal_failed else ("passed" if report.passed else "failed")
    ctx.evidence.put(keys.json_key, _evidence_json(run, report, status), "application/json")
    ctx.evidence.put(keys.pdf_key, ctx.evidence_pdf(report), "application/pdf")
    receipt = script.facts.get("receipt") or {}
    run = _save(ctx, run, status=status, finished_at=report.finished_at.isoformat(), evidence=keys,
                steps=[StepView(**s.model_dump(include=set(StepView.model_fields))) for s in script.steps],
                dossier_code=(script.facts.get("dossier") or {}).get("dossier_code"),
                payment_id=script.facts.get("payment_id"), receipt_id=receipt.get("receipt_id"),
                receipt_number=receipt.get("receipt_number"), receipt_series=receipt.get("series"))
    _release(ctx, run)
    ctx.count("SelfTestsPassed" if status == "passed" else "SelfTestsFailed")
    if status == "passed":
        ctx.step_events.record(run.province, 4, {"kind": "selftest", "run_id": run.run_id,
                                                 "pdf_key": keys.pdf_key, "json_key": keys.json_key})
    return status


def _evidence_json(run: SelfTestRun, report: EvidenceReport, status: str) -> bytes:
    doc = {"run_id": run.run_id, "province": run.province, "province_name": run.province_name, "status": status,
           "verdict": report.verdict, "requested_by_role": run.requested_role, "test": True,
           "report": report.model_dump(mode="json")}
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
