"""The six integration steps per province (M11): events in, progress out, overrides, the dashboard.

``record_step_event`` is the one way anything reports progress: the API check (step 1) and deliveries (step 4)
through the provinces capability's StepEvents port, the self-test (step 4), and support requests here (steps 2, 3,
5, 6). The province record keeps events and overrides; what is shown is derived from them (domain/progress.py).
"""
from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core import admin_units
from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, FieldError, conflict, forbidden, validation_error
from chalicelib.core.parsing import parse
from chalicelib.core.validation import InvalidValueError
from chalicelib.onboarding.domain.progress import (
    STEPS,
    Override,
    StepEvent,
    derive,
    keep_event,
    step_views,
    summary,
)
from chalicelib.onboarding.domain.requests import Caller
from chalicelib.onboarding.ports import ConcurrentChangeError, OnboardingContext

log = logging.getLogger(__name__)
MAX_EVIDENCE_CHARS = 2000
_ATTEMPTS = 4


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    step: int = Field(ge=1, le=6, description="Pass every step up to this one that has not passed.")
    reason: str = Field(min_length=10, max_length=1000, description="Why the evidence is not needed (audited).")


def _province(code: str) -> admin_units.Province | None:
    try:
        return admin_units.current_province(code)
    except InvalidValueError:
        return None


def _parsed(record: dict[str, Any] | None) -> tuple[list[StepEvent], list[Override]]:
    if not record:
        return [], []
    return ([StepEvent.model_validate(e) for e in record.get("events", [])],
            [Override.model_validate(o) for o in record.get("overrides", [])])


def _remember(ctx: OnboardingContext, agency: str, completed: int) -> None:
    until = epoch(ctx.clock.now()) + ctx.settings.onboarding.progress_cache_s
    ctx.caches.setdefault("onboarding_completed", {})[agency] = (until, completed)


def _known_completed(ctx: OnboardingContext, agency: str) -> int | None:
    hit = ctx.caches.setdefault("onboarding_completed", {}).get(agency)
    return hit[1] if hit is not None and hit[0] > epoch(ctx.clock.now()) else None


def _evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(evidence, ensure_ascii=False, default=str)
    if len(text) > MAX_EVIDENCE_CHARS:
        return {"truncated": True, **{k: v for k, v in evidence.items() if isinstance(v, (str, int, bool))}}
    return json.loads(text)


def record_step_event(ctx: OnboardingContext, province: str, step: int, evidence: dict[str, Any]) -> dict | None:
    """Record what happened towards ``step`` (1-6) of ``province`` (any agency or statistics code, pre-2025 ones
    included: they count for the current province). Returns the province's progress, or None when the province is
    not one of the 34 or the step has passed already (then nothing is written). Safe under concurrency."""
    if step not in STEPS:
        raise ValueError(f"unknown onboarding step {step}")
    p = _province(province)
    if p is None:
        log.info("onboarding event for an unknown province ignored", extra={"step": step})
        return None
    known = _known_completed(ctx, p.agency_id)
    if known is not None and known >= step:
        return None
    for _ in range(_ATTEMPTS):
        record = ctx.progress.get(p.agency_id)
        events, overrides = _parsed(record)
        completed = summary(derive(events, overrides))["completed_steps"]
        if completed >= step:
            _remember(ctx, p.agency_id, completed)
            return None
        events = keep_event(events, StepEvent(step=step, at=ctx.clock.now().isoformat(), details=_evidence(evidence)))
        try:
            _save(ctx, p, events, overrides, record)
        except ConcurrentChangeError:
            continue
        view = _view(p, events, overrides, ctx.clock.now().isoformat())
        _remember(ctx, p.agency_id, view["completed_steps"])
        return view
    log.warning("onboarding event lost to concurrent writes", extra={"province": p.agency_id, "step": step})
    return None


def _save(ctx: OnboardingContext, p: admin_units.Province, events: list[StepEvent], overrides: list[Override],
          record: dict[str, Any] | None) -> None:
    doc = {"agency_code": p.agency_id, "province_name": p.name, "events": [e.model_dump() for e in events],
           "overrides": [o.model_dump() for o in overrides], "updated_at": ctx.clock.now().isoformat()}
    ctx.progress.put(p.agency_id, doc, record["rev"] if record else None)


def _view(p: admin_units.Province, events: list[StepEvent], overrides: list[Override],
          updated_at: str | None) -> dict[str, Any]:
    states = derive(events, overrides)
    return {"agency_code": p.agency_id, "province_code": p.stats_code, "province_name": p.name, **summary(states),
            "steps": step_views(states), "updated_at": updated_at}


def _resolve(caller: Caller, agency_raw: str) -> admin_units.Province:
    p = _province(agency_raw)
    if p is None:
        raise validation_error([FieldError("agency_code", "PROVINCE_UNKNOWN",
                                           "Không phải mã định danh của một trong 34 tỉnh, thành phố.")])
    if not caller.operator and not admin_units.same_province(caller.province, p.agency_id):
        raise forbidden("PROVINCE_FORBIDDEN", "Bạn chỉ được xem tiến độ tích hợp của tỉnh mình.")
    return p


def province_progress(ctx: OnboardingContext, caller: Caller, agency_raw: str) -> dict[str, Any]:
    p = _resolve(caller, agency_raw)
    record = ctx.progress.get(p.agency_id)
    return _view(p, *_parsed(record), (record or {}).get("updated_at"))


def completed_steps(ctx: OnboardingContext, agency: str) -> int:
    p = _province(agency)
    if p is None:
        return 0
    return summary(derive(*_parsed(ctx.progress.get(p.agency_id))))["completed_steps"]


def is_live(ctx: OnboardingContext, province: str) -> bool:
    """Whether the province passed all six steps (a live province is sent no test data any more)."""
    return completed_steps(ctx, province) == len(STEPS)


def dashboard(ctx: OnboardingContext, caller: Caller) -> dict[str, Any]:
    """Every province (34; an operator) or the caller's own, by step, and which are live."""
    records = {r["agency_code"]: r for r in ctx.progress.list_all()}
    views = []
    for p in admin_units.provinces():
        if caller.operator or caller.province == p.agency_id:
            record = records.get(p.agency_id)
            views.append(_view(p, *_parsed(record), (record or {}).get("updated_at")))
    by_step = {str(n): sum(1 for v in views if v["step"] == n) for n in STEPS}
    live = [v["agency_code"] for v in views if v["live"]]
    return {"provinces": views, "by_step": by_step, "live": live, "live_count": len(live), "total": len(views)}


def override(ctx: OnboardingContext, caller: Caller, agency_raw: str, body: Any) -> dict[str, Any]:
    """An operator passes the steps up to ``step`` without their evidence, with a reason kept on each."""
    data = parse(OverrideIn, body)
    p = _resolve(caller, agency_raw)
    record = ctx.progress.get(p.agency_id)
    events, overrides = _parsed(record)
    completed = summary(derive(events, overrides))["completed_steps"]
    if data.step <= completed:
        raise conflict("ONBOARDING_STEP_ALREADY_PASSED", f"Bước {data.step} đã hoàn thành, không cần xác nhận thay.")
    now = ctx.clock.now().isoformat()
    overrides += [Override(step=n, at=now, by=caller.subject, reason=data.reason)
                  for n in range(completed + 1, data.step + 1)]
    try:
        _save(ctx, p, events, overrides, record)
    except ConcurrentChangeError:
        raise AppError("CONCURRENT_UPDATE", "Tiến độ của tỉnh vừa thay đổi, vui lòng thử lại.", 409,
                       "Xung đột") from None
    log.info("onboarding override", extra={"province": p.agency_id, "step": data.step, "by": caller.subject})
    return _view(p, events, overrides, now)
