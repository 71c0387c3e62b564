"""The 8-working-hour clock's alerts and report: a schedule sends the operators' topic an alert when a request
has used 75 % of its working time and when it is overdue, each once per request (recorded on the request in the
same transaction as the alert's intent, conditional on its revision); the monthly report counts requests handled
within the clock."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.core.clock import epoch
from chalicelib.core.validation import RuleError
from chalicelib.onboarding.domain.deadlines import crossed, next_alert_at, sla_view
from chalicelib.onboarding.domain.messages import alert_subject
from chalicelib.onboarding.domain.requests import SupportRequest
from chalicelib.onboarding.ports import ConcurrentChangeError, OnboardingContext
from chalicelib.onboarding.services.common import link
from chalicelib.outbox import domain as intents

MAX_REPORT_MONTHS = 36


def run_clock_alerts(ctx: OnboardingContext, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Send the alerts that came due (the schedule calls this every few minutes)."""
    now = now or ctx.clock.now()
    due_ids = ctx.support_requests.due_timers(epoch(now), limit)
    sent = 0
    for request_id in due_ids:
        request = ctx.support_requests.get(request_id)
        if request is not None:
            sent += _alert(ctx, request, now)
    if sent:
        ctx.count("SupportClockAlerts", sent)
    return {"due": len(due_ids), "alerts_sent": sent}


def _alert(ctx: OnboardingContext, request: SupportRequest, now: datetime) -> int:
    due = crossed(request, now)
    after = request.model_copy(update={"alerts": {**request.alerts, **{a.name: now.isoformat() for a in due}},
                                       "rev": request.rev + 1})
    view = sla_view(after, now)
    sent = [intents.ops_alert(f"SUPPORT_REQUEST_{a.name.upper()}", alert_subject(request, a.name), {
        "request_id": request.request_id, "unit_code": request.unit_code, "unit_name": request.unit_name,
        "title": request.title, "status": request.status.value, "percent_used": view["percent_used"],
        "due_at": view["due_at"], "time_left": view["time_left"], "link": link(ctx, request)}) for a in due]
    audit = ({"action": "clock_alert", "by": "system", "party": "system", "at": now.isoformat(),
              "alerts": [a.name for a in due]} if due else None)
    next_at = next_alert_at(after, now)
    try:
        ctx.support_requests.update(after, request.rev, audit, intents=sent,
                                    timer_at=None if next_at is None else max(epoch(next_at), epoch(now) + 60))
    except ConcurrentChangeError:
        return 0  # the request moved meanwhile: its timer was recomputed, the next run sees it
    return len(due)


class ReportQuery(BaseModel):
    __rules__ = ("MONTH_RANGE_INVALID",)  # one field against the other: beyond the schema, its own code
    model_config = ConfigDict(extra="forbid")
    from_month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (month of closing).")
    to_month: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")

    @model_validator(mode="after")
    def _span(self) -> ReportQuery:
        if self.from_month > self.to_month or len(_months(self.from_month, self.to_month)) > MAX_REPORT_MONTHS:
            raise RuleError("MONTH_RANGE_INVALID", f"Khoảng tháng không hợp lệ (tối đa {MAX_REPORT_MONTHS} "
                                    "tháng, tháng đầu trước tháng cuối).")
        return self


def _months(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    out = []
    while f"{year:04d}-{month:02d}" <= last and len(out) <= MAX_REPORT_MONTHS:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def monthly_report(ctx: OnboardingContext, query: ReportQuery) -> dict[str, Any]:
    """Requests handled (done or rejected) per month of closing, and how many within the 8 working hours."""
    stored = {row["month"]: row for row in ctx.support_requests.monthly(query.from_month, query.to_month)}
    rows = []
    for month in _months(query.from_month, query.to_month):
        r = stored.get(month, {})
        handled, within = r.get("handled", 0), r.get("within_clock", 0)
        rows.append({"month": month, "handled": handled, "within_clock": within, "late": r.get("late", 0),
                     "done": r.get("done", 0), "rejected": r.get("rejected", 0), "cancelled": r.get("cancelled", 0),
                     "share_within_clock": round(100 * within / handled, 1) if handled else None,
                     "average_working_hours": round(r.get("working_seconds", 0) / handled / 3600, 2)
                     if handled else None})
    return {"budget_working_hours": 8, "months": rows}
