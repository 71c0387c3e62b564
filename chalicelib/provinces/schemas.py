"""The answers of the province-integration routes, as the HTTP contract states them (the use cases build dicts;
the shell's contract checks hold them to these models on the test stage)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent

ApiTypeName = Literal["notice", "payment_result", "receipt_file"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProvinceApiView(_Out):
    """A stored API configuration. Credentials are never returned: `has_credentials` says whether they are set."""

    agency_code: str
    api_type: ApiTypeName
    api_type_label: str = Field(description="The portal's Vietnamese name of the API type.")
    province_code: str = Field(description="Statistics province code, 2 digits.")
    province_name: str
    unit_code: str
    session_url: str = Field(description="URL API lấy session.")
    data_url: str = Field(description="URL API lấy dữ liệu.")
    connect_timeout_s: float
    read_timeout_s: float
    active: bool
    has_credentials: bool
    updated_at: str
    updated_by: str
    version: int = Field(ge=1)


class ApiList(_Out):
    apis: list[ProvinceApiView]


class AuditRecord(BaseModel):
    """Who did what when (configuration changes, API checks, re-drives); more members depend on the action."""

    model_config = ConfigDict(extra="allow")
    action: str
    at: str
    by: str


class AuditRecords(_Out):
    records: list[AuditRecord] = Field(description="Newest first.")


class CallError(_Out):
    code: str
    message: str


class CallView(_Out):
    """One HTTP call of an API check: the answer as received (redirects are shown, never followed)."""

    url: str
    status: int | None = absent("HTTP status of the answer.")
    headers: dict[str, str] | None = absent("Answer headers (Set-Cookie dropped).")
    body: str | None = absent("Answer body, size-capped (never shown for the session call: it holds the token).")
    truncated: bool | None = absent("true when the body was cut at the cap.")
    latency_ms: float | None = absent("Time to the answer.")
    redirect_not_followed: bool | None = absent("true for a 3xx answer.")
    token_received: bool | None = absent("Session call: whether a token could be read from the answer.")
    error: CallError | None = absent("No answer (connection refused, timeout).")


class ConfiguredCheck(_Out):
    agency_code: str
    api_type: ApiTypeName
    session: CallView
    data: CallView


class UrlCheck(CallView):
    api_type: ApiTypeName


class ApiSample(_Out):
    api_type: ApiTypeName
    api_type_label: str = Field(description="The portal's Vietnamese name of the API type.")
    body: dict[str, Any] = Field(description="The payload as the portal sends it (sample data).")


class ApiSamples(_Out):
    samples: list[ApiSample]


class DeliveryItem(_Out):
    """One delivery of a state (what the delivery-health screen lists): the subject, never the payer."""

    kind: Literal["receipt", "notice"]
    subject_id: str = Field(description="The receipt id, or dossier:notice:vN for a notice.")
    state: Literal["PENDING", "DELIVERED", "FAILING", "DEAD"]
    since: str = Field(description="When the delivery entered its state's queue (issued, first failed attempt, "
                       "delivered, re-driven).")
    attempts: int = Field(ge=0)
    dossier_code: str | None = absent("The dossier's code (mã hồ sơ).")
    notice_number: str | None = absent("The notice's number (số thông báo).")
    amount_vnd: int | None = absent("Receipts: the amount paid.")
    last_error: str | None = absent("The last failed attempt's error.")
    last_attempt_at: str | None = absent("When the last failed attempt was.")
    next_attempt_at: str | None = absent("FAILING: when the next attempt is due.")
    delivered_at: str | None = absent("DELIVERED: when.")
    redriven_at: str | None = absent("When an operator last re-drove it.")


class DeliveryStats(_Out):
    agency_code: str
    pending: int = Field(ge=0)
    delivered: int = Field(ge=0)
    failing: int = Field(ge=0)
    dead: int = Field(ge=0)
    failing_since: str | None = Field(description="Start of the oldest delivery still failing or dead.")
    state: Literal["pending", "delivered", "failing", "dead"] | None = absent(
        "The state listed in `items` (the `state` filter), when one was asked for.")
    items: list[DeliveryItem] | None = absent("With `state`: a page of that state's deliveries, newest first.")
    next_cursor: str | None = absent("With `state`: the next page's cursor, when there is one.")


class RedriveResult(_Out):
    agency_code: str
    redriven: int = Field(ge=0)
    dead_letters_removed: int = Field(ge=0)


class ContactsView(_Out):
    unit_code: str
    service_type: Literal["land_tax_payment"]
    service_name: str
    phones: list[str] = Field(description="E.164 mobile numbers.")
    emails: list[str]
    updated_at: str | None
    updated_by: str | None


class ContactsList(_Out):
    contacts: list[ContactsView]

