"""The evidence of an integration self-test run: what was sent to each province API, what came back, and the verdict.

The self-test (M11, steps 1 and 4 of the integration procedure) calls a province's APIs in order and keeps, per
step, the request (method, URL, body), the answer (status, a subset of headers, a body excerpt), the latency and a
verdict with, for a failure, what the province must fix. ``record_step`` builds a step from the raw exchange and
redacts it there, so nothing that is stored or printed ever held a credential, a token or a citizen's data.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from chalicelib.onboarding.domain.redaction import redact, redact_body, redact_headers, redact_text, redact_url

StepResult = Literal["passed", "failed", "skipped"]
RESULT_LABELS: dict[str, str] = {"passed": "ĐẠT", "failed": "KHÔNG ĐẠT", "skipped": "BỎ QUA"}
MAX_STEPS = 20  # the cover page lists every step on one page
BODY_EXCERPT_CHARS = 4000


class EvidenceStep(BaseModel):
    """One call of the self-test, already redacted (build it with ``record_step``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="e.g. 'Lấy phiên làm việc (token)'.")
    api_type: str | None = Field(default=None, max_length=100, description="e.g. 'API BNDP thanh toán thuế đất'.")
    method: str = Field(default="POST", pattern=r"^[A-Z]{3,7}$")
    url: str = Field(max_length=2048)
    request_body: str = Field(default="", description="Redacted, pretty-printed JSON or text.")
    status: int | None = Field(default=None, ge=100, le=599, description="None when no answer came back.")
    error: str | None = Field(default=None, max_length=500, description="Why no answer: timeout, refused...")
    response_headers: dict[str, str] = Field(default_factory=dict)
    response_body: str = Field(default="", description="Redacted excerpt of the answer body.")
    latency_ms: float | None = Field(default=None, ge=0)
    result: StepResult
    expected: str | None = Field(default=None, max_length=500, description="What a correct answer looks like.")
    fix: str | None = Field(default=None, max_length=1000, description="What the province must fix (a failure).")
    note: str | None = Field(default=None, max_length=500, description="Why a step was skipped, or a remark.")

    @model_validator(mode="after")
    def _explained(self) -> EvidenceStep:
        if self.result == "failed" and not (self.fix or "").strip():
            raise ValueError("a failed step must say what the province must fix")
        if self.result == "skipped" and not (self.note or "").strip():
            raise ValueError("a skipped step must say why")
        return self


class EvidenceReport(BaseModel):
    """A whole self-test run: the cover page data and the steps in the order they ran."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    province_name: str = Field(min_length=1, max_length=200)
    province_code: str | None = Field(default=None, max_length=35, description="Agency code, e.g. 000.00.00.H49.")
    run_id: str = Field(min_length=1, max_length=64)
    started_at: AwareDatetime
    finished_at: AwareDatetime
    requested_by: str | None = Field(default=None, max_length=200, description="Who started the run (a role).")
    steps: list[EvidenceStep] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _ordered(self) -> EvidenceReport:
        if self.finished_at < self.started_at:
            raise ValueError("finished_at is before started_at")
        return self

    @property
    def passed(self) -> bool:
        """ĐẠT: no step failed and at least one was actually checked."""
        results = {s.result for s in self.steps}
        return "failed" not in results and "passed" in results

    @property
    def verdict(self) -> str:
        return "ĐẠT" if self.passed else "KHÔNG ĐẠT"


def record_step(*, name: str, url: str, result: StepResult, method: str = "POST", api_type: str | None = None,
                request_body: Any = None, status: int | None = None, error: str | None = None,
                response_headers: Mapping[str, str] | None = None, response_body: bytes | str | None = None,
                latency_ms: float | None = None, expected: str | None = None, fix: str | None = None,
                note: str | None = None) -> EvidenceStep:
    """Build a step from the raw exchange, redacting the URL, both bodies, the headers and the free texts.

    Free texts that may echo a province's answer (error, fix, note, expected) are cut to their field's size
    after redaction instead of being refused: a long error message must not lose the evidence.
    """
    return EvidenceStep(
        name=name, api_type=api_type, method=method.upper(), url=_cut(redact_url(url), 2048),
        request_body="" if request_body is None else redact_body(request_body, BODY_EXCERPT_CHARS),
        status=status, error=_free_text(error, 500), response_headers=redact_headers(response_headers or {}),
        response_body="" if response_body is None else redact_body(response_body, BODY_EXCERPT_CHARS),
        latency_ms=latency_ms, result=result, expected=_free_text(expected, 500), fix=_free_text(fix, 1000),
        note=_free_text(note, 500),
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _free_text(text: str | None, limit: int) -> str | None:
    return None if text is None else _cut(redact_text(text), limit)


def redacted_step(step: EvidenceStep | Mapping[str, Any]) -> EvidenceStep:
    """A step redacted again, for a renderer that must not trust its input (redaction is idempotent)."""
    step = step if isinstance(step, EvidenceStep) else EvidenceStep.model_validate(step)
    return step.model_copy(update={
        "url": redact_url(step.url), "request_body": redact_body(step.request_body, BODY_EXCERPT_CHARS + 2),
        "response_body": redact_body(step.response_body, BODY_EXCERPT_CHARS + 2),
        "response_headers": redact_headers(step.response_headers, None),
        "error": None if step.error is None else redact_text(step.error),
        "fix": None if step.fix is None else redact_text(step.fix),
        "note": None if step.note is None else redact_text(step.note),
        "expected": None if step.expected is None else redact_text(step.expected),
        "name": redact_text(step.name),
    })


__all__ = ["RESULT_LABELS", "EvidenceReport", "EvidenceStep", "record_step", "redact", "redacted_step"]
