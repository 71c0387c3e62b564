"""The province API registry (M11, configuration part) and error-alert contacts (M12): validated shapes and scope.

A province is identified by its level-1 agency code (``000.00.00.H49``, what receipts and dossier codes carry) and
also records its statistics province code (2 digits, what administrators' tokens carry). Per API type it has a
session URL, a data URL, the unit code it expects in payloads, timeouts and an active flag. Credentials are write-only
here: the service stores them in the secret store and only ``has_credentials`` is ever shown.
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from chalicelib.core.codes import validate_agency_code
from chalicelib.core.fields import AgencyCode, Documented, OutboundUrl
from chalicelib.core.phones import email_pattern, mobile_pattern, normalise_mobile, validate_email
from chalicelib.core.validation import InvalidValueError
from chalicelib.provinces.domain.delivery import SERVICE_TYPES, ApiType

_PROVINCE_AGENCY = re.compile(r"^000\.00\.00\.H\d{2}$")
_STATS_CODE = re.compile(r"^[0-9]{2}$")
MAX_CONTACTS = 10


def validate_province_agency_code(raw: str) -> str:
    """A province's level-1 agency code (000.00.00.Hxx) that the administrative-unit table knows as a current
    province: a closed pre-2025 code is refused with the code of the province it became part of."""
    from chalicelib.core.admin_units import province_by_agency_code, province_of

    code = validate_agency_code(raw)
    if not _PROVINCE_AGENCY.fullmatch(code):
        raise InvalidValueError("PROVINCE_CODE_FORMAT",
                                "Mã định danh cấp tỉnh phải có dạng 000.00.00.Hxx, ví dụ 000.00.00.H49.")
    holder = province_by_agency_code(code)
    if holder is None:
        raise InvalidValueError("PROVINCE_UNKNOWN", f"Không có tỉnh, thành phố nào mang mã định danh {code}.")
    if holder.agency_code_closed:
        successor = province_of(code)
        raise InvalidValueError("PROVINCE_CODE_CLOSED", f"Mã {code} của {holder.name} đã đóng sau sắp xếp đơn vị "
                                f"hành chính 2025: dùng mã 000.00.00.{successor.agency_code} ({successor.name}).")
    return code


def province_of_unit(unit_code: str) -> str:
    """The level-1 province agency code of any agency code: ``000.00.43.H35`` -> ``000.00.00.H35``."""
    return f"000.00.00.{unit_code.rsplit('.', 1)[1]}"


def parse_api_type(raw: str) -> ApiType:
    try:
        return ApiType(raw)
    except ValueError:
        raise InvalidValueError("API_TYPE_UNKNOWN", "Loại API không hợp lệ: notice, payment_result hoặc "
                                                    "receipt_file.") from None


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=500)

    def __repr__(self) -> str:  # never print the password
        return f"{type(self).__name__}(username={self.username!r}, password='***')"

    __str__ = __repr__


class StoredCredentials(Credentials):
    """Credentials as the secret store holds them: with the registry's credentials version they were written for
    (0 for secrets written before versions existed). ``model_dump()`` is what goes to the session API: no version."""

    version: int = Field(default=0, ge=0, exclude=True)


class ProvinceApiIn(BaseModel):
    """Body of PUT /v1/provinces/{agency_code}/apis/{api_type}. On update, omitted credentials keep the stored ones."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    province_code: str = Field(description="Statistics province code, 2 digits (e.g. 22 for Quảng Ninh).",
                               json_schema_extra={"pattern": _STATS_CODE.pattern})
    province_name: str = Field(min_length=2, max_length=100, description="e.g. Tỉnh Quảng Ninh.")
    unit_code: AgencyCode = Field(description="Unit / DST code the province expects in payloads (agency code).")
    session_url: OutboundUrl = Field(min_length=8, max_length=2048, description="URL API lấy session.")
    data_url: OutboundUrl = Field(min_length=8, max_length=2048, description="URL API lấy dữ liệu.")
    credentials: Credentials | None = Field(default=None, description="Write-only; kept in the secret store.")
    connect_timeout_s: float = Field(default=3.0, gt=0, le=10)
    read_timeout_s: float = Field(default=10.0, gt=0, le=30)
    active: bool = True

    @field_validator("province_code")
    @classmethod
    def _stats(cls, v: str) -> str:
        if not _STATS_CODE.fullmatch(v):
            raise InvalidValueError("PROVINCE_STATS_CODE_FORMAT", "Mã tỉnh (thống kê) gồm 2 chữ số, ví dụ 22.")
        return v


class ProvinceApi(BaseModel):
    """A stored API configuration (no credentials)."""

    model_config = ConfigDict(extra="ignore")
    agency_code: str
    api_type: ApiType
    province_code: str
    province_name: str
    unit_code: str
    session_url: str
    data_url: str
    connect_timeout_s: float
    read_timeout_s: float
    active: bool
    has_credentials: bool
    updated_at: str
    updated_by: str
    version: int = 1
    # The registry version whose request last carried credentials: the secret store catches up with it through an
    # outbox intent (the internet-facing function never writes secrets), so a reader can tell stale from current.
    credentials_version: int = 0

    def view(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json", exclude={"credentials_version"}), "api_type_label": self.api_type.label_vi}


class AlertContactsIn(BaseModel):
    # At least one phone or e-mail (CONTACT_REQUIRED): the schema says it with anyOf.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"properties": {"phones": {"minItems": 1}}, "required": ["phones"]},
        {"properties": {"emails": {"minItems": 1}}, "required": ["emails"]}]})
    # Each entry is checked on its own, so an error names its index (phones.2): the form shows it on that row.
    phones: list[Annotated[str, Documented.of(pattern=mobile_pattern), AfterValidator(normalise_mobile)]] = Field(
        default_factory=list, max_length=MAX_CONTACTS)
    emails: list[Annotated[str, Documented.of(pattern=email_pattern, maxLength=254), AfterValidator(validate_email)]] = \
        Field(default_factory=list, max_length=MAX_CONTACTS)

    @field_validator("phones", "emails")
    @classmethod
    def _distinct(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))  # normalised already: 0912... and +84912... are one number


def validate_service_type(raw: str) -> str:
    if raw not in SERVICE_TYPES:
        raise InvalidValueError("SERVICE_TYPE_UNKNOWN",
                                "Loại dịch vụ không hợp lệ: land_tax_payment (Thanh toán thuế đất).")
    return raw


def in_scope(principal_province: str | None, agency_code: str) -> bool:
    """Does a province administrator whose directory record names ``principal_province`` (an agency code; a
    statistics code or H-code is read the same way) manage what ``agency_code`` belongs to? Decided by the
    authoritative province table only: both codes must name the same current province."""
    from chalicelib.core.admin_units import same_province

    return same_province(principal_province, agency_code)
