"""The answers of the reconciliation routes (M14 §2 settlement runs, §3 refunds), as the HTTP contract states them;
the shell's contract checks hold the use cases' dicts to these models on the test stage."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent
from chalicelib.reconciliation.domain.matching import Category
from chalicelib.reconciliation.domain.runs import Action, DiscrepancyStatus, RunStatus

COUNTS = "Per category (MATCHED, MISSING_AT_PORTAL, MISSING_AT_BANK, AMOUNT_MISMATCH, DUPLICATE_AT_BANK, " \
         "STATUS_MISMATCH, PENDING_NEXT_DAY)"
RefundStateName = Literal["REFUND_REQUESTED", "REFUND_APPROVED", "REFUNDED", "REFUND_FAILED", "REFUND_REJECTED"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileView(_Out):
    key: str = Field(description="settlements/<BANK>/<BANK>_<YYYYMMDD>.<ext> in the documents bucket, or "
                     "local:<path> for a file given to the CLI.")
    version_id: str | None = Field(description="The S3 version the run read (a corrected file is a new version).")
    bucket: str | None


class TriggerView(_Out):
    source: str = Field(description="s3_event (the file landed), operator (API re-run), cli, schedule (10:00 check).")
    by: str = Field(description="The operator's subject, cli:<who>, or system.")


class ErrorView(_Out):
    code: str = Field(description="Why the file was refused, e.g. SETTLEMENT_TRAILER_MISSING.")
    message: str = Field(description="Vietnamese, with the line.")
    line_no: int | None


class RunView(_Out):
    run_id: str
    bank_code: str
    settlement_date: date
    status: RunStatus = Field(description="RUNNING, COMPLETED, REFUSED (the file was incomplete or malformed: "
                              "nothing classified) or FAILED (stopped; taken over by the next delivery).")
    file: FileView
    sha256: str = Field(description="The file's SHA-256: the same file again is the same run.")
    size_bytes: int
    format_name: str
    line_count: int = Field(description="Data lines of the file (the trailer's count).")
    total_vnd: int = Field(description="Sum of the file's amounts (the trailer's sum, in đồng).")
    counts: dict[str, int] = Field(description=f"{COUNTS}: number of findings.")
    totals_vnd: dict[str, int] = Field(description=f"{COUNTS}: VND (the bank's amount, or the portal's when the "
                                       "bank has none).")
    anomalies: int = Field(description="Findings someone must look at (all but MATCHED and PENDING_NEXT_DAY).")
    excluded_test_lines: int = Field(description="Lines about test payments (province self-tests), left out.")
    actions: dict[str, int] = Field(description="What the run did: APPLIED (late success, receipt issued), "
                                    "ALREADY_APPLIED, REFUND_REQUIRED, REFUSED.")
    error: ErrorView | None
    trigger: TriggerView
    started_at: datetime
    finished_at: datetime | None
    attempt: int
    rerun_of: str | None = Field(description="The run of the same file this one ran again.")
    supersedes: str | None = Field(description="The day's previous current run.")
    superseded_by: str | None = Field(description="The run that replaced this one as the day's current run.")


class RunList(_Out):
    items: list[RunView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class ResolutionView(_Out):
    by: str
    at: datetime
    note: str


class DiscrepancyView(_Out):
    run_id: str
    key: str = Field(description="L<line number> (a line of the file) or P<payment id> (a payment the file lacks).")
    category: Category
    payment_id: str
    line_no: int | None
    bank_txn_ref: str | None
    bank_amount_vnd: int | None
    portal_amount_vnd: int | None
    portal_state: str | None = Field(description="The payment's state at the portal; null: unknown payment.")
    paid_at: datetime | None
    refund_required: bool
    reason: str
    action: Action | None
    action_detail: str | None = Field(description="The bank-result use case's refusal code, for REFUSED.")
    status: DiscrepancyStatus
    resolution: ResolutionView | None


class DiscrepancyPage(_Out):
    items: list[DiscrepancyView]
    next_cursor: str | None


class RunDetail(RunView):
    discrepancies: DiscrepancyPage = Field(description="A page of the run's findings other than MATCHED.")


class RefundAuditEntry(_Out):
    action: str = Field(description="REFUND_REQUESTED, REFUND_APPROVED, REFUND_REJECTED, SENT_TO_BANK, "
                        "BANK_NO_ANSWER, NEEDS_REVIEW, REFUNDED, REFUND_FAILED.")
    by: str = Field(description="The operator's subject, `bank` for the bank's answer, or the retrying job.")
    at: datetime
    note: str | None = absent("The operator's note or reason, or the bank's code.")


class RefundView(_Out):
    refund_id: str = Field(description="RFD + a ULID: also the bank's idempotency key (every send repeats it).")
    payment_id: str
    bank_code: str
    bank_txn_ref: str = Field(description="The bank transaction refunded.")
    amount_vnd: int = Field(gt=0)
    full: bool = Field(description="The whole transaction (true) or a part of it.")
    reason: str
    state: RefundStateName = Field(description="REFUND_REQUESTED -> REFUND_APPROVED -> REFUNDED | REFUND_FAILED; "
                                   "REFUND_REQUESTED -> REFUND_REJECTED.")
    collecting_unit: str
    payment_created_at: datetime
    requested_by: str
    requested_at: datetime
    decided_by: str | None = Field(description="Who approved or rejected it (never the requester for an approval).")
    decided_at: datetime | None
    refunded_at: datetime | None
    bank_refund_ref: str | None = Field(description="The bank's reference of the refund, when it gave one.")
    attempts: int = Field(ge=0, description="Sends to the bank so far (all with the same refund_id).")
    last_attempt_at: int | None = Field(description="Epoch seconds of the last send.")
    last_result: str | None = Field(description="The bank's code, or why there was no answer.")
    needs_review: bool = Field(description="The bank's answer cannot settle it: an operator must check with the "
                               "bank (no automatic resend).")
    alerted: bool
    audit: list[RefundAuditEntry]
    rev: int


class RefundPage(_Out):
    items: list[RefundView] = Field(description="Newest request first.")
    next_cursor: str | None
