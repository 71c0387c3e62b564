"""Searching support requests as the seed's list screen does (Tên yêu cầu, Đơn vị yêu cầu, Nhóm dịch vụ, Người yêu
cầu, Ngày yêu cầu từ ngày … đến ngày, Trạng thái), and the opaque cursor of a page.

Which filters are key conditions and which are filters: the scope (one province, or all) and the date range are the
key of the query (a partition per province, sorted by filing time; an all-provinces index sorted the same way); the
status, type, service group, and the words of the title and requester are filters over that range, read a bounded
number of items per page (see the repository), so a page never costs more than a fixed number of reads. Words are
compared folded (case, Vietnamese diacritics and "đ" ignored), as people type them.
"""
from __future__ import annotations

import base64
import re
from datetime import datetime, time, timedelta
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.core.admin_units import fold
from chalicelib.core.clock import VN_TZ
from chalicelib.core.fields import Documented, IsoDate, any_province_code_pattern
from chalicelib.core.validation import InvalidValueError, RuleError
from chalicelib.onboarding.domain.requests import RequestType, Status, SupportRequest

_SORT_KEY = re.compile(r"^\d{13}#YC[0-9A-HJKMNP-TV-Z]{26}$")
MAX_PAGE = 100
STATUSES = tuple(s.value for s in Status)
REQUEST_TYPES = get_args(RequestType)


def sort_key(created_at: str, request_id: str) -> str:
    """``<epoch ms, 13 digits>#<id>``: sorts by filing time, unique per request."""
    ms = int(datetime.fromisoformat(created_at).timestamp() * 1000)
    return f"{ms:013d}#{request_id}"


def search_text(value: str) -> str:
    return fold(value)


def search_attributes(request: SupportRequest) -> dict[str, str]:
    """The attributes the filters compare (stored beside the request, on every listing entry)."""
    return {"st": request.status.value, "rtype": request.request_type, "grp": request.service_group["code"],
            "q_title": search_text(request.title), "q_req": search_text(request.requester_name),
            "unit": request.unit_code}


def row(request: SupportRequest) -> dict[str, Any]:
    """What the list screen shows of a request (STT is the position on the page, left to the client)."""
    return {"request_id": request.request_id, "request_type": request.request_type, "title": request.title,
            "unit_code": request.unit_code, "unit_name": request.unit_name,
            "service_group": request.service_group, "requester_name": request.requester_name,
            "created_at": request.created_at, "status": request.status.value, "status_label": request.status.label,
            "history": [h.model_dump(mode="json", include={"status", "at"}) for h in request.history],
            "alerts": dict(request.alerts)}


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        key = ""
    if not _SORT_KEY.fullmatch(key):
        raise RuleError("CURSOR_INVALID", "Con trỏ trang không hợp lệ; hãy tải lại danh sách từ đầu.")
    return key


def _list_pattern(values) -> str:
    one = "|".join(values)
    return rf"^(?:{one})(?:,(?:{one}))*$"


class ListQuery(BaseModel):
    """Query string of GET /v1/support-requests."""

    __rules__ = ("CURSOR_INVALID", "DATE_RANGE_INVALID")  # an opaque cursor's content, one date against the other

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, max_length=200, description="Words of Tên yêu cầu hỗ trợ.")
    unit_code: Annotated[str, Documented.of(pattern=any_province_code_pattern)] | None = Field(
        default=None, description="Đơn vị yêu cầu (province agency code).")
    service_group: str | None = Field(default=None, max_length=64, description="Nhóm dịch vụ (code).")
    requester: str | None = Field(default=None, max_length=200, description="Words of Người yêu cầu.")
    from_date: IsoDate | None = Field(default=None, description="Ngày yêu cầu từ ngày (VN date, inclusive).")
    to_date: IsoDate | None = Field(default=None, description="… đến ngày (inclusive).")
    status: Annotated[str, Documented.of(pattern=lambda: _list_pattern(STATUSES))] | None = Field(
        default=None, description="Trạng thái: one or several, comma-separated.")
    request_type: Annotated[str, Documented.of(enum=lambda: list(REQUEST_TYPES))] | None = Field(
        default=None, description="api_configuration, integration_confirmation, other.")
    limit: int = Field(default=20, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(default=None, max_length=200)

    @field_validator("status")
    @classmethod
    def _statuses(cls, v: str | None) -> str | None:
        if v is None:
            return None
        values = [s.strip() for s in v.split(",") if s.strip()]
        if not values or set(values) - set(STATUSES):
            raise InvalidValueError("STATUS_UNKNOWN", "Trạng thái không hợp lệ: " + ", ".join(STATUSES) + ".")
        return ",".join(dict.fromkeys(values))

    @field_validator("request_type")
    @classmethod
    def _type(cls, v: str | None) -> str | None:
        if v is not None and v not in REQUEST_TYPES:
            raise InvalidValueError("REQUEST_TYPE_UNKNOWN", "Loại yêu cầu không hợp lệ.")
        return v

    @model_validator(mode="after")
    def _range(self) -> ListQuery:
        if self.from_date and self.to_date and self.from_date > self.to_date:
            raise RuleError("DATE_RANGE_INVALID", "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.")
        return self

    def key_range(self) -> tuple[str, str]:
        """The sort-key bounds of the date range (VN days, both inclusive)."""
        low = "0" * 13
        high = "9" * 13 + "~"
        if self.from_date:
            low = f"{int(datetime.combine(self.from_date, time(), VN_TZ).timestamp() * 1000):013d}"
        if self.to_date:
            end = datetime.combine(self.to_date + timedelta(days=1), time(), VN_TZ)
            high = f"{int(end.timestamp() * 1000) - 1:013d}~"
        return low, high

    def filters(self) -> dict[str, Any]:
        """The non-key filters, in stored form: {attribute: value or list of values}."""
        out: dict[str, Any] = {}
        if self.status:
            out["st"] = self.status.split(",")
        if self.request_type:
            out["rtype"] = [self.request_type]
        if self.service_group:
            out["grp"] = [self.service_group]
        if self.title and search_text(self.title):
            out["q_title"] = search_text(self.title)
        if self.requester and search_text(self.requester):
            out["q_req"] = search_text(self.requester)
        return out
