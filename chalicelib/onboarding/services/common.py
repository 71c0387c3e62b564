"""What every support-request use case shares: loading a request in the caller's scope, committing a change with
its audit record, clock timer, email intent and report counters, and the view a client sees."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Sequence

from chalicelib.core import admin_units
from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, forbidden, not_found
from chalicelib.onboarding.domain.deadlines import handled_in_time, next_alert_at, sla_view
from chalicelib.onboarding.domain.messages import status_email
from chalicelib.onboarding.domain.requests import (
    CLOSED,
    HANDLED,
    REQUEST_ID,
    Caller,
    HistoryEntry,
    Status,
    SupportRequest,
    TransitionError,
    check_transition,
)
from chalicelib.onboarding.ports import ConcurrentChangeError, OnboardingContext
from chalicelib.outbox import domain as intents

log = logging.getLogger(__name__)


def require_scope(caller: Caller, unit_code: str) -> None:
    if caller.operator or admin_units.same_province(caller.province, unit_code):
        return
    raise forbidden("PROVINCE_FORBIDDEN", "Bạn chỉ được xem và gửi yêu cầu hỗ trợ của tỉnh mình.")


def load(ctx: OnboardingContext, caller: Caller, request_id: str, *, detail: bool = False):
    """The request (with comments and audit trail when ``detail``), in the caller's scope; 404 otherwise."""
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        raise _not_found()
    if detail:
        request, comments, audit = ctx.support_requests.detail(request_id)
    else:
        request, comments, audit = ctx.support_requests.get(request_id), [], []
    if request is None:
        raise _not_found()
    require_scope(caller, request.unit_code)
    return (request, comments, audit) if detail else request


def _not_found() -> AppError:
    return not_found("SUPPORT_REQUEST_NOT_FOUND", "Không tìm thấy yêu cầu hỗ trợ.")


def audit_record(caller: Caller, action: str, at: str, **what: Any) -> dict[str, Any]:
    return {"action": action, "by": caller.subject, "party": caller.party.value, "at": at, **what}


def moved(ctx: OnboardingContext, request: SupportRequest, target: Status, caller: Caller, note: str | None,
          now: datetime, **changes: Any) -> SupportRequest:
    """The request after ``caller`` moves it to ``target`` (checked against the transition table)."""
    try:
        check_transition(request.status, target, caller.party)
    except TransitionError as exc:
        if exc.forbidden:
            raise forbidden(exc.code, exc.message) from None
        raise AppError(exc.code, exc.message, 409, "Xung đột trạng thái") from None
    entry = HistoryEntry(status=target, at=now.isoformat(), by=caller.subject, party=caller.party, note=note)
    if target in CLOSED and "apis" not in changes:  # credentials never applied are not kept, even sealed
        changes["apis"] = [a.model_copy(update={"sealed_credentials": None}) for a in request.apis]
    return request.model_copy(update={"status": target, "history": [*request.history, entry],
                                      "updated_at": now.isoformat(), "rev": request.rev + 1,
                                      "reason": note if target in (Status.REJECTED, Status.WAITING) else
                                      request.reason, **changes})


def link(ctx: OnboardingContext, request: SupportRequest) -> str:
    return ctx.settings.onboarding.request_link_template.format(request_id=request.request_id)


def status_intents(ctx: OnboardingContext, request: SupportRequest) -> list:
    subject, text = status_email(request, link(ctx, request))
    return [intents.email([request.feedback_email], subject, text, request.unit_code, ref=request.request_id)]


def timer_epoch(ctx: OnboardingContext, request: SupportRequest, now: datetime) -> int | None:
    # The working calendar is the one shipped as data (chalicelib/data/working_calendar.json).
    due = next_alert_at(request, now)
    return None if due is None else epoch(due)


def report_counts(ctx: OnboardingContext, request: SupportRequest, now: datetime) -> tuple[str, dict[str, int]] | None:
    """The monthly counters a closing move adds (month of closing, VN time)."""
    if request.status not in CLOSED:
        return None
    month = now.strftime("%Y-%m")
    if request.status not in HANDLED:
        return month, {"cancelled": 1}
    within, elapsed = handled_in_time(request, now)
    return month, {"handled": 1, "within_clock": int(within), "late": int(not within), request.status.value: 1,
                   "working_seconds": elapsed}


def commit(ctx: OnboardingContext, before: SupportRequest, after: SupportRequest, audit: dict[str, Any], *,
           extra_intents: Sequence = (), comment: dict[str, Any] | None = None, email: bool = True) -> None:
    """Write a change: the request, its audit record, the recomputed timer, the status email (when the status
    moved), the report counters (when it closed), in one transaction conditional on the request's revision."""
    now = ctx.clock.now()
    moved_status = after.status is not before.status
    sent = [*(status_intents(ctx, after) if moved_status and email else []), *extra_intents]
    try:
        ctx.support_requests.update(after, before.rev, audit, intents=sent, timer_at=timer_epoch(ctx, after, now),
                                    comment=comment, report=report_counts(ctx, after, now) if moved_status else None)
    except ConcurrentChangeError:
        raise AppError("CONCURRENT_UPDATE", "Yêu cầu vừa được người khác cập nhật, vui lòng tải lại và thử lại.",
                       409, "Xung đột") from None


def request_view(ctx: OnboardingContext, request: SupportRequest, comments: list[dict] | None = None,
                 audit: list[dict] | None = None) -> dict[str, Any]:
    data = request.model_dump(mode="json", exclude={"apis", "rev", "alerts"})
    data.update(status_label=request.status.label, apis=[a.view() for a in request.apis],
                sla=sla_view(request, ctx.clock.now()), link=link(ctx, request))
    if comments is not None:
        data["comments"] = comments
    if audit is not None:
        data["audit"] = audit
    return data
