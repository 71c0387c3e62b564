"""Working on support requests: detail and search (in the caller's scope), status moves by the table of
``domain/requests.py`` (operators process, the requester cancels), comments both ways, and the step-6
confirmation when an operator completes a confirmation request. Every change is one audited transaction."""
from __future__ import annotations

from typing import Any

from chalicelib.core.errors import FieldError, conflict, validation_error
from chalicelib.core.parsing import parse
from chalicelib.core.validation import InvalidValueError
from chalicelib.onboarding.domain.deadlines import sla_summary
from chalicelib.onboarding.domain.requests import (
    CLOSED,
    Caller,
    CommentIn,
    Party,
    Status,
    StatusChangeIn,
)
from chalicelib.onboarding.domain.search import ListQuery, decode_cursor, encode_cursor
from chalicelib.onboarding.ports import OnboardingContext
from chalicelib.onboarding.services.attachments import accept, mark_accepted
from chalicelib.onboarding.services.common import audit_record, commit, load, moved, request_view, require_scope
from chalicelib.onboarding.services.filing import safely_record
from chalicelib.onboarding.services.progress import completed_steps


def detail(ctx: OnboardingContext, caller: Caller, request_id: str) -> dict[str, Any]:
    request, comments, audit = load(ctx, caller, request_id, detail=True)
    return request_view(ctx, request, comments, audit)


def search(ctx: OnboardingContext, caller: Caller, query: ListQuery) -> dict[str, Any]:
    """One page, newest first. A province administrator always searches their own province."""
    unit = query.unit_code
    if unit is not None:
        from chalicelib.core import admin_units

        try:
            unit = admin_units.current_province(unit).agency_id
        except InvalidValueError as exc:
            raise validation_error([FieldError("unit_code", exc.code, exc.message)]) from None
    if not caller.operator:
        if unit is not None:
            require_scope(caller, unit)
        unit = caller.province
        require_scope(caller, unit or "")
    try:
        after = decode_cursor(query.cursor) if query.cursor else None
    except InvalidValueError as exc:
        raise validation_error([FieldError.of("cursor", exc)]) from None
    page = ctx.support_requests.list(unit, query.key_range(), query.filters(), query.limit, after)
    now = ctx.clock.now()
    items = [{**r, "sla": sla_summary([(h["status"], h["at"]) for h in r["history"]],
                                      Status(r["status"]) in CLOSED, now)} for r in page.rows]
    return {"items": items, "count": len(items),
            "next_cursor": encode_cursor(page.next_key) if page.next_key else None}


def change_status(ctx: OnboardingContext, caller: Caller, request_id: str, body: Any) -> dict[str, Any]:
    data = parse(StatusChangeIn, body)
    request = load(ctx, caller, request_id)
    target = Status(data.status)
    if target is Status.DONE and request.request_type == "api_configuration":
        raise conflict("APPLY_REQUIRED", "Yêu cầu cấu hình URL API được hoàn thành bằng thao tác áp dụng cấu hình "
                       "(POST .../apply), để cấu hình thực sự được ghi.")
    confirming = target is Status.DONE and request.request_type == "integration_confirmation"
    if confirming and completed_steps(ctx, request.unit_code) < 5:
        raise conflict("ONBOARDING_STEP_NOT_REACHED", "Tỉnh chưa hoàn thành các bước 1 đến 5 nên chưa thể xác nhận "
                       "hoàn thành tích hợp.")
    now = ctx.clock.now()
    after = moved(ctx, request, target, caller, data.reason, now)
    commit(ctx, request, after, audit_record(caller, "status_changed", now.isoformat(), status_from=request.status.value,
                                             status_to=target.value, reason=data.reason))
    if confirming:
        safely_record(ctx, request.unit_code, 6, {"request_id": request.request_id, "by": caller.subject})
    ctx.count("SupportRequestStatusChanged")
    return request_view(ctx, after)


def add_comment(ctx: OnboardingContext, caller: Caller, request_id: str, body: Any) -> dict[str, Any]:
    """A comment (with files, counted against the request's caps). The requester answering a request that waits
    for them puts it back in progress: the clock runs again."""
    data = parse(CommentIn, body)
    request = load(ctx, caller, request_id)
    if request.status in (Status.DONE, Status.CANCELLED, Status.REJECTED):
        raise conflict("SUPPORT_REQUEST_CLOSED", "Yêu cầu đã đóng, không thể thêm trao đổi.")
    files = accept(ctx, caller, data.attachments, "attachments", request.attachments)
    now = ctx.clock.now()
    at = now.isoformat()
    changes = {"attachments": [*request.attachments, *files]}
    if caller.party is Party.REQUESTER and request.status is Status.WAITING:
        after = moved(ctx, request, Status.IN_PROGRESS, caller, "Người yêu cầu đã bổ sung thông tin.", now,
                      **changes)
    else:
        after = request.model_copy(update={"updated_at": at, "rev": request.rev + 1, **changes})
    comment = {"comment_id": ctx.new_id(), "by": caller.subject, "party": caller.party.value, "at": at,
               "text": data.text, "attachment_ids": [f.attachment_id for f in files]}
    audit = audit_record(caller, "comment_added", at, comment_id=comment["comment_id"], attachments=len(files),
                         status_to=after.status.value if after.status is not request.status else None)
    commit(ctx, request, after, audit, comment=comment)
    mark_accepted(ctx, files)
    return comment
