"""Support requests (Quản lý yêu cầu hỗ trợ, M11): the form as the letter 3252/VPCP-KSTT describes it, the statuses
and who may move a request between them, and the stored shape of a request.

Three request types: an API configuration (structured API types and URLs, credentials write-only), an integration
confirmation (with its evidence: attachments or a self-test run), or anything else. A province administrator files
for their own province and may cancel; the government office's operators process. The transition table below is
the whole status model; the use cases never decide a move on their own.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.core.codes import validate_agency_code
from chalicelib.core.fields import Documented, OutboundUrl, any_province_code_pattern
from chalicelib.core.phones import email_pattern, phone_pattern, validate_email
from chalicelib.core.validation import InvalidValueError, RuleError
from chalicelib.provinces.domain.registry import Credentials

_CATALOGUE = Path(__file__).resolve().parents[2] / "data" / "support_catalogue.json"
ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
REQUEST_ID = re.compile(rf"^YC{ULID}$")
ATTACHMENT_ID = re.compile(rf"^{ULID}$")
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{5,63}$")
MAX_ATTACHMENTS_PER_CALL = 10
ApiTypeName = Literal["notice", "payment_result", "receipt_file"]
RequestType = Literal["api_configuration", "integration_confirmation", "other"]


class Status(str, Enum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting_for_requester"
    DONE = "done"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return catalogue()["statuses"][self.value]


class Party(str, Enum):
    REQUESTER = "requester"  # a province administrator of the requesting province
    OPERATOR = "operator"  # the government office


_OP, _REQ = frozenset({Party.OPERATOR}), frozenset({Party.REQUESTER})
# (from, to) -> who may make the move. Anything else is refused. Applying a configuration request is a move to done.
TRANSITIONS: dict[tuple[Status, Status], frozenset[Party]] = {
    (Status.NEW, Status.IN_PROGRESS): _OP,
    (Status.NEW, Status.WAITING): _OP,
    (Status.NEW, Status.DONE): _OP,
    (Status.NEW, Status.REJECTED): _OP,
    (Status.NEW, Status.CANCELLED): _REQ,
    (Status.IN_PROGRESS, Status.WAITING): _OP,
    (Status.IN_PROGRESS, Status.DONE): _OP,
    (Status.IN_PROGRESS, Status.REJECTED): _OP,
    (Status.IN_PROGRESS, Status.CANCELLED): _REQ,
    # The requester answers (a comment does it too) or the operator takes it up again: the clock runs again.
    (Status.WAITING, Status.IN_PROGRESS): _OP | _REQ,
    (Status.WAITING, Status.DONE): _OP,
    (Status.WAITING, Status.REJECTED): _OP,
    (Status.WAITING, Status.CANCELLED): _REQ,
}
RUNNING = frozenset({Status.NEW.value, Status.IN_PROGRESS.value})  # the 8-working-hour clock runs in these
CLOSED = frozenset({Status.DONE, Status.CANCELLED, Status.REJECTED})
HANDLED = frozenset({Status.DONE, Status.REJECTED})  # what the monthly report counts as handled by the office


@dataclass(frozen=True)
class Caller:
    """Who is calling (built by the HTTP layer from the verified token)."""

    subject: str
    party: Party
    province: str | None = None  # a requester's province: the current province's agency code (000.00.00.Hxx)

    @property
    def operator(self) -> bool:
        return self.party is Party.OPERATOR


class TransitionError(InvalidValueError):
    """A status move the table does not allow (``forbidden``: allowed, but not for this party)."""

    def __init__(self, code: str, message: str, forbidden: bool = False) -> None:
        super().__init__(code, message)
        self.forbidden = forbidden


def check_transition(current: Status, target: Status, party: Party) -> None:
    """Raise TransitionError unless ``party`` may move a request from ``current`` to ``target``."""
    allowed = TRANSITIONS.get((current, target))
    if allowed is None:
        raise TransitionError("STATUS_TRANSITION_NOT_ALLOWED", f"Không thể chuyển yêu cầu từ trạng thái "
                              f"“{current.label}” sang “{target.label}”.")
    if party not in allowed:
        who = "Người yêu cầu" if party is Party.REQUESTER else "Cán bộ xử lý"
        raise TransitionError("STATUS_TRANSITION_FORBIDDEN", f"{who} không được chuyển yêu cầu sang trạng thái "
                              f"“{target.label}”.", forbidden=True)


# --- the catalogue (data) ------------------------------------------------------------------------------------------

@cache
def catalogue() -> dict[str, Any]:
    return json.loads(_CATALOGUE.read_text(encoding="utf-8"))


def service_group_codes() -> list[str]:
    return [group["code"] for group in catalogue()["service_groups"]]


def service_group(code: str) -> dict[str, Any]:
    for group in catalogue()["service_groups"]:
        if group["code"] == code:
            return group
    raise InvalidValueError("SERVICE_GROUP_UNKNOWN", "Nhóm dịch vụ không có trong danh mục.")


def service_of(group: dict[str, Any], code: str | None) -> dict[str, str] | None:
    if code is None:
        return None
    for service in group["services"]:
        if service["code"] == code:
            return {"code": service["code"], "name": service["name"]}
    raise InvalidValueError("SERVICE_UNKNOWN", "Dịch vụ không thuộc nhóm dịch vụ đã chọn.")


# --- the form ----------------------------------------------------------------------------------------------------

def normalise_phone(raw: str) -> str:
    """A Vietnamese mobile or fixed-line number in E.164 (an office may give its desk phone)."""
    import phonenumbers

    message = "Số điện thoại không hợp lệ, ví dụ 0912345678 hoặc 02033123456."
    text = raw.strip() if isinstance(raw, str) else ""
    if not re.fullmatch(r"\(?\+?[0-9 .\-()]{8,20}", text):
        raise InvalidValueError("PHONE_INVALID", message)
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        raise InvalidValueError("PHONE_INVALID", message) from None
    kinds = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
             phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    if number.country_code != 84 or not phonenumbers.is_valid_number(number) or \
            phonenumbers.number_type(number) not in kinds:
        raise InvalidValueError("PHONE_INVALID", message)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(_In):
    """Đầu mối phối hợp xử lý: who the office calls when the request is stuck."""

    name: str = Field(min_length=1, max_length=200, description="Người liên hệ.")
    phone: str = Field(description="Số điện thoại.", json_schema_extra=Documented.lazy(pattern=phone_pattern))

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, v: str) -> str:
        return normalise_phone(v)


class AttachmentRef(_In):
    attachment_id: str = Field(pattern=ATTACHMENT_ID.pattern, description="From POST /v1/support-requests/attachments.")
    file_name: str = Field(min_length=1, max_length=255, description="The name it was uploaded under.")


class ApiConfigIn(_In):
    """One API of a configuration request: what the registry entry will hold once an operator applies it."""

    api_type: ApiTypeName
    session_url: OutboundUrl = Field(min_length=8, max_length=2048, description="URL API lấy session.")
    data_url: OutboundUrl = Field(min_length=8, max_length=2048, description="URL API lấy dữ liệu.")
    unit_code: str | None = Field(default=None, description="Unit / DST code the province expects in payloads "
                                  "(default: the province's agency code).")
    credentials: Credentials | None = Field(default=None, description="Write-only: sealed for the secret store, "
                                            "never stored in clear or shown again.")
    connect_timeout_s: float = Field(default=3.0, gt=0, le=10)
    read_timeout_s: float = Field(default=10.0, gt=0, le=30)

    @field_validator("unit_code")
    @classmethod
    def _unit(cls, v: str | None) -> str | None:
        return None if v is None else validate_agency_code(v)


class EvidenceIn(_In):
    """The step-4 evidence of an integration confirmation: uploaded files of this request, or a self-test run."""

    attachment_ids: list[str] = Field(default_factory=list, max_length=MAX_ATTACHMENTS_PER_CALL)
    self_test_run_id: str | None = Field(default=None, pattern=RUN_ID.pattern)


class SupportRequestIn(_In):
    """Thông tin yêu cầu hỗ trợ (the form; * = required on the seed's screen)."""

    # What each request type needs, in the schema (if/then); one API per type and evidence that is one of the
    # request's own attachments compare items: rules with their own codes.
    __rules__ = ("API_TYPE_DUPLICATE", "EVIDENCE_ATTACHMENT_UNKNOWN", "EVIDENCE_REQUIRED", "SERVICE_UNKNOWN")
    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"if": {"properties": {"request_type": {"const": "api_configuration"}}, "required": ["request_type"]},
         "then": {"properties": {"apis": {"minItems": 1}}, "required": ["apis"]},
         "else": {"properties": {"apis": {"maxItems": 0}}}},
        {"if": {"properties": {"request_type": {"const": "integration_confirmation"}}, "required": ["request_type"]},
         "then": {"properties": {"evidence": {"type": "object"}}, "required": ["evidence"]},
         "else": {"properties": {"evidence": {"type": "null"}}}}]})

    request_type: RequestType
    unit_code: Annotated[str, Documented.of(pattern=any_province_code_pattern)] | None = Field(
        default=None, description="Đơn vị yêu cầu hỗ trợ*: the province's agency code (default: the caller's province).")
    service_group: str = Field(description="Nhóm dịch vụ* (code from GET /v1/support-catalogue).",
                               json_schema_extra=Documented.lazy(enum=service_group_codes))
    service: str | None = Field(default=None, description="Dịch vụ (code).")
    requester_name: str = Field(min_length=1, max_length=200, description="Người yêu cầu*.")
    requester_phone: str = Field(description="Số điện thoại*.", json_schema_extra=Documented.lazy(pattern=phone_pattern))
    contact: ContactIn | None = Field(default=None, description="Đầu mối phối hợp xử lý.")
    feedback_email: str = Field(description="Email phản hồi*: where every status change is sent.",
                                json_schema_extra=Documented.lazy(pattern=email_pattern, maxLength=254))
    title: str = Field(min_length=5, max_length=300, description="Tên yêu cầu*.")
    description: str = Field(min_length=1, max_length=8000, description="Mô tả yêu cầu*.")
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=MAX_ATTACHMENTS_PER_CALL)
    apis: list[ApiConfigIn] = Field(default_factory=list, max_length=3, description="API configuration only.")
    evidence: EvidenceIn | None = Field(default=None, description="Integration confirmation only.")

    @field_validator("requester_phone")
    @classmethod
    def _valid_phone(cls, v: str) -> str:
        return normalise_phone(v)

    @field_validator("feedback_email")
    @classmethod
    def _valid_email(cls, v: str) -> str:
        return validate_email(v)

    @model_validator(mode="after")
    def _by_type(self) -> SupportRequestIn:
        if self.request_type == "api_configuration":
            if not self.apis:
                raise InvalidValueError("APIS_REQUIRED", "Yêu cầu cấu hình cần ít nhất một API (loại API và URL).")
            if len({a.api_type for a in self.apis}) != len(self.apis):
                raise RuleError("API_TYPE_DUPLICATE", "Mỗi loại API chỉ khai báo một lần.")
        elif self.apis:
            raise InvalidValueError("APIS_NOT_ALLOWED", "Chỉ yêu cầu cấu hình URL API mới khai báo API.")
        if self.request_type == "integration_confirmation":
            ev = self.evidence
            if ev is None or not (ev.attachment_ids or ev.self_test_run_id):
                raise RuleError("EVIDENCE_REQUIRED", "Yêu cầu xác nhận tích hợp cần minh chứng: tệp đính "
                                        "kèm hoặc mã lượt tự kiểm thử.")
            if set(ev.attachment_ids) - {a.attachment_id for a in self.attachments}:
                raise RuleError("EVIDENCE_ATTACHMENT_UNKNOWN", "Minh chứng phải là tệp đính kèm của chính "
                                        "yêu cầu này.")
        elif self.evidence is not None:
            raise InvalidValueError("EVIDENCE_NOT_ALLOWED", "Chỉ yêu cầu xác nhận tích hợp mới kèm minh chứng.")
        return self


class StatusChangeIn(_In):
    # Rejecting or asking for more needs the reason (the schema says it with if/then).
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"status": {"enum": ["rejected", "waiting_for_requester"]}}, "required": ["status"]},
        "then": {"properties": {"reason": {"type": "string"}}, "required": ["reason"]}})
    status: Literal["in_progress", "waiting_for_requester", "done", "cancelled", "rejected"]
    reason: str | None = Field(default=None, min_length=3, max_length=2000,
                               description="Required to reject, and to ask the requester for more (what is missing).")

    @model_validator(mode="after")
    def _reason(self) -> StatusChangeIn:
        if self.status in ("rejected", "waiting_for_requester") and not self.reason:
            raise InvalidValueError("REASON_REQUIRED", "Cần nêu lý do (từ chối) hoặc nội dung cần bổ sung.")
        return self


class CommentIn(_In):
    text: str = Field(min_length=1, max_length=4000)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=MAX_ATTACHMENTS_PER_CALL)


# --- the stored request ------------------------------------------------------------------------------------------

class HistoryEntry(BaseModel):
    status: Status
    at: str
    by: str
    party: Party
    note: str | None = None


class StoredAttachment(BaseModel):
    attachment_id: str
    file_name: str
    kind: str
    media_type: str
    size_bytes: int
    added_at: str
    added_by: str


class StoredApi(BaseModel):
    """A requested API configuration. ``sealed_credentials`` is ciphertext only the outbox consumer can open (the
    API role may encrypt with the app key, never decrypt); it is dropped once handed to the secret store."""

    api_type: ApiTypeName
    session_url: str
    data_url: str
    unit_code: str
    connect_timeout_s: float
    read_timeout_s: float
    has_credentials: bool
    sealed_credentials: str | None = None
    check: dict[str, Any] = Field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"sealed_credentials"})


class SupportRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request_id: str
    request_type: RequestType
    unit_code: str
    unit_name: str
    service_group: dict[str, str]
    service: dict[str, str] | None
    requester_name: str
    requester_phone: str
    contact: dict[str, str] | None
    feedback_email: str
    title: str
    description: str
    attachments: list[StoredAttachment] = Field(default_factory=list)
    apis: list[StoredApi] = Field(default_factory=list)
    evidence: dict[str, Any] | None = None
    status: Status = Status.NEW
    history: list[HistoryEntry]
    created_at: str
    created_by: str
    updated_at: str
    rev: int = 1
    alerts: dict[str, str] = Field(default_factory=dict)  # "75" / "breach" -> when sent (each once)
    applied: dict[str, Any] | None = None
    reason: str | None = None  # of the last rejection or request for more

    @property
    def transitions(self) -> list[tuple[str, str]]:
        return [(h.status.value, h.at) for h in self.history]

    def attachment_bytes(self) -> int:
        return sum(a.size_bytes for a in self.attachments)


def group_name(code: str) -> str:
    return service_group(code)["name"]
