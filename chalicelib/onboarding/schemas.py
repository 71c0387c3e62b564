"""The answers of the onboarding routes (support requests, their report, the six integration steps), as the HTTP
contract states them (the use cases build dicts; the shell's contract checks hold them to these models on the test
stage). Credentials never appear: an API shows ``has_credentials`` only."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent

StatusName = Literal["new", "in_progress", "waiting_for_requester", "done", "cancelled", "rejected"]
TypeName = Literal["api_configuration", "integration_confirmation", "other"]
ApiTypeName = Literal["notice", "payment_result", "receipt_file"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Named(_Out):
    code: str
    name: str


class Contact(_Out):
    name: str
    phone: str = Field(description="E.164.")


class HistoryView(_Out):
    status: StatusName
    at: str
    by: str
    party: Literal["requester", "operator"]
    note: str | None


class AttachmentView(_Out):
    attachment_id: str
    file_name: str
    kind: str = Field(description="Detected from the content: jpg, png, pdf, doc, docx, xls, xlsx, txt, mp3, mp4.")
    media_type: str
    size_bytes: int
    added_at: str
    added_by: str


class RequestedApi(_Out):
    api_type: ApiTypeName
    session_url: str
    data_url: str
    unit_code: str
    connect_timeout_s: float
    read_timeout_s: float
    has_credentials: bool = Field(description="Credentials were filed (sealed for the secret store, never shown).")
    check: dict[str, Any] = Field(description="The API check made on filing: the session call's answer (status, "
                                  "latency, token_received; never the token); the data URL is guarded, not called.")


class SlaSummary(_Out):
    """The 8-working-hour clock (paused while waiting for the requester), on the working calendar."""

    budget_seconds: int
    elapsed_seconds: int
    remaining_seconds: int = Field(description="Negative once overdue.")
    percent_used: float
    running: bool
    overdue: bool
    due_at: str | None = Field(description="Projected due time while the clock runs; null while it is paused.")
    time_left: str = Field(description="Vietnamese, e.g. 'Còn 2 giờ 15 phút làm việc'.")


class SlaView(SlaSummary):
    alerts_sent: dict[str, str] = Field(description="'75' and 'breach' -> when the operators were alerted.")


class CommentView(_Out):
    comment_id: str
    by: str
    party: Literal["requester", "operator"]
    at: str
    text: str
    attachment_ids: list[str]


class AuditView(BaseModel):
    """Who did what when; more members depend on the action."""

    model_config = ConfigDict(extra="allow")
    action: str
    by: str
    party: str
    at: str


class SupportRequestView(_Out):
    request_id: str
    request_type: TypeName
    unit_code: str = Field(description="Đơn vị yêu cầu: the province's agency code.")
    unit_name: str
    service_group: Named
    service: Named | None
    requester_name: str
    requester_phone: str
    contact: Contact | None
    feedback_email: str
    title: str
    description: str
    attachments: list[AttachmentView]
    apis: list[RequestedApi]
    evidence: dict[str, Any] | None
    status: StatusName
    status_label: str
    history: list[HistoryView]
    created_at: str
    created_by: str
    updated_at: str
    applied: dict[str, Any] | None
    reason: str | None = Field(description="Of the last rejection or request for more information.")
    sla: SlaView
    link: str
    comments: list[CommentView] | None = absent("The exchanges, oldest first (detail only).")
    audit: list[AuditView] | None = absent("The audit trail, oldest first (detail only).")


class RowHistory(_Out):
    status: StatusName
    at: str


class SupportRequestRow(_Out):
    request_id: str
    request_type: TypeName
    title: str
    unit_code: str
    unit_name: str
    service_group: Named
    requester_name: str
    created_at: str
    status: StatusName
    status_label: str
    history: list[RowHistory]
    alerts: dict[str, str]
    sla: SlaSummary = Field(description="Time left on the clock, as the operators' list shows it.")


class SupportRequestPage(_Out):
    items: list[SupportRequestRow] = Field(description="Newest first.")
    count: int
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at the end. A page may "
                                    "hold fewer items than the limit when filters apply: follow the cursor.")


class UploadForm(_Out):
    url: str
    fields: dict[str, str]
    method: Literal["POST"]
    file_field: str


class AttachmentUpload(_Out):
    attachment_id: str
    upload: UploadForm = Field(description="POST the file as multipart/form-data with these fields, file last.")
    max_bytes: int
    expires_in_s: int


class AttachmentLink(_Out):
    attachment_id: str
    file_name: str
    media_type: str
    size_bytes: int
    url: str = Field(description="Presigned GET, short-lived.")
    expires_in_s: int


class ApplyResult(_Out):
    request: SupportRequestView
    apis: list[dict[str, Any]] = Field(description="The registry entries written (as GET /v1/provinces/{agency}/apis).")


class MonthRow(_Out):
    month: str
    handled: int
    within_clock: int
    late: int
    done: int
    rejected: int
    cancelled: int
    share_within_clock: float | None = Field(description="Percent of handled requests closed within 8 working hours.")
    average_working_hours: float | None


class MonthlyReport(_Out):
    budget_working_hours: int
    months: list[MonthRow]


class StepView(_Out):
    step: int
    name: str
    who: Literal["province", "operator"]
    done_when: str
    passed: bool
    passed_at: str | None
    evidence: list[dict[str, Any]] = Field(description="The events that made the step pass.")
    override: dict[str, Any] | None = Field(description="An operator's override (by, at, reason) instead of evidence.")


class ProvinceProgress(_Out):
    agency_code: str
    province_code: str
    province_name: str
    step: int | None = Field(description="The step the province is at (1-6); null once live.")
    completed_steps: int
    live: bool
    since: str | None = Field(description="When the last completed step passed.")
    steps: list[StepView]
    updated_at: str | None


class OnboardingDashboard(_Out):
    provinces: list[ProvinceProgress]
    by_step: dict[str, int] = Field(description="How many provinces are at each step ('1'..'6'; live ones apart).")
    live: list[str] = Field(description="Agency codes of the live provinces.")
    live_count: int
    total: int


class Catalogue(_Out):
    service_groups: list[dict[str, Any]]
    request_types: dict[str, dict[str, str]]
    statuses: dict[str, str]
    limits: dict[str, int]
