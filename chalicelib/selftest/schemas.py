"""The answers of the self-test routes, as the HTTP contract states them."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent
from chalicelib.selftest.domain import Evidence, StepView


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunLinks(_Out):
    self: str
    evidence: str


class EvidenceAttachment(_Out):
    """What the step-5 confirmation request (Yêu cầu xác nhận tích hợp thành công) attaches in one action."""

    kind: Literal["selftest_evidence"]
    run_id: str
    province: str
    verdict: str | None
    pdf_key: str
    json_key: str


class SelfTestRunView(_Out):
    run_id: str
    province: str = Field(description="Level-1 agency code of the province.")
    province_name: str
    requested_by: str
    requested_role: Literal["operator", "province_admin"]
    status: Literal["queued", "running", "passed", "failed", "error"] = Field(
        description="queued -> running -> passed | failed (a province API must be fixed: see steps[].fix) | "
        "error (the portal could not finish the run).")
    verdict: Literal["ĐẠT", "KHÔNG ĐẠT"] | None = Field(description="Once finished.")
    created_at: str
    started_at: str | None
    finished_at: str | None
    dossier_code: str | None = Field(description="The run's test dossier (agency TST.*), once created.")
    payment_id: str | None
    receipt_id: str | None
    receipt_number: str | None = Field(description="Number in the test series (never the real numbering).")
    receipt_series: str | None
    steps: list[StepView] = Field(description="Each step's verdict, latency and, for a failure, what to fix "
                                  "(request and answer in the evidence).")
    evidence: Evidence | None
    error: str | None
    links: RunLinks
    attachment: EvidenceAttachment | None = absent("Once finished: the evidence to attach to the step-5 request.")


class SelfTestRuns(_Out):
    province: str
    runs: list[SelfTestRunView] = Field(description="Newest first (at most 20).")


class EvidenceFile(_Out):
    key: str
    url: str = Field(description="Presigned GET, valid until expires_at.")


class EvidenceLinks(_Out):
    run_id: str
    expires_at: str
    pdf: EvidenceFile = Field(description="The evidence report (Báo cáo minh chứng kiểm thử tích hợp), A4 PDF.")
    json_: EvidenceFile = Field(alias="json", description="The same evidence as JSON.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
