"""Reconciliation runs (M14 §2): the stored record of matching one bank's settlement file for one day, and the
discrepancies it found.

A run is identified by its bank, its settlement day and the SHA-256 of the file: the same file again is the same
run (nothing is applied twice), a different file for the same day (a corrected one) is a new run that supersedes
the day's current run, both kept. An operator's re-run is a new run of the stored file, superseding too: it
classifies the file against the ledger as it is now (what the first run applied now matches).

Statuses: RUNNING (a worker holds its lease), COMPLETED, REFUSED (the file was incomplete or malformed: nothing
classified, see ``error``), FAILED (the worker stopped; the next delivery of the same file takes it over).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field

from chalicelib.reconciliation.domain.matching import Category, Finding, Totals

__all__ = ["Action", "Discrepancy", "DiscrepancyStatus", "FileRef", "Run", "RunError", "RunStatus", "Trigger",
           "discrepancy_key", "discrepancy_of", "is_discrepancy", "needs_action", "parse_settlement_key",
           "settlement_key"]

LEASE_S = 960  # a worker's hold on a RUNNING run (longer than the function's 900 s timeout); past it, another
# delivery of the same file takes the run over
CATEGORIES = tuple(c.value for c in Category)


class RunStatus(str, Enum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    REFUSED = "REFUSED"
    FAILED = "FAILED"


class DiscrepancyStatus(str, Enum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class Action(str, Enum):
    """What the run did about a finding (None: nothing to do, it is for people to look at)."""

    APPLIED = "APPLIED"  # the bank's success applied through the bank-result use case (receipt issued)
    ALREADY_APPLIED = "ALREADY_APPLIED"  # it had been applied already (a retry, a re-run): nothing changed
    REFUND_REQUIRED = "REFUND_REQUIRED"  # the second bank transaction recorded on the payment, for refund
    REFUSED = "REFUSED"  # the bank-result use case refused it (see action_detail): an anomaly for people


class FileRef(BaseModel):
    """Where the file is: the documents bucket key and version, or ``local:<name>`` for a file given to the CLI."""

    key: str
    version_id: str | None = None
    bucket: str | None = None


class Trigger(BaseModel):
    source: str  # s3_event | operator | cli | schedule
    by: str  # the operator's subject, or "system"


class RunError(BaseModel):
    code: str
    message: str
    line_no: int | None = None


class Run(BaseModel):
    run_id: str
    bank_code: str
    settlement_date: date
    status: RunStatus
    file: FileRef
    sha256: str
    size_bytes: int = 0
    format_name: str = ""
    line_count: int = 0
    total_vnd: int = 0
    counts: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    totals_vnd: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    anomalies: int = 0
    excluded_test_lines: int = 0
    actions: dict[str, int] = Field(default_factory=dict)
    error: RunError | None = None
    trigger: Trigger
    started_at: datetime
    finished_at: datetime | None = None
    attempt: int = 1
    lease_until: int = 0  # epoch seconds
    rerun_of: str | None = None
    supersedes: str | None = None
    superseded_by: str | None = None

    def with_totals(self, totals: Totals) -> Run:
        return self.model_copy(update={
            "counts": {c.value: totals.counts[c] for c in Category},
            "totals_vnd": {c.value: totals.vnd[c] for c in Category},
            "anomalies": totals.anomalies})


class Resolution(BaseModel):
    by: str
    at: datetime
    note: str


class Discrepancy(BaseModel):
    """One finding other than MATCHED, as stored with its run (PENDING_NEXT_DAY ones too: the next day's run
    reads them)."""

    run_id: str
    key: str  # L<line number> for a line of the file, P<payment id> for a payment the file lacks
    category: Category
    payment_id: str
    line_no: int | None = None
    bank_txn_ref: str | None = None
    bank_amount_vnd: int | None = None
    portal_amount_vnd: int | None = None
    portal_state: str | None = None
    paid_at: datetime | None = None
    refund_required: bool = False
    reason: str = ""
    action: Action | None = None
    action_detail: str | None = None
    status: DiscrepancyStatus = DiscrepancyStatus.OPEN
    resolution: Resolution | None = None

    @property
    def amount_vnd(self) -> int:
        return self.bank_amount_vnd if self.bank_amount_vnd is not None else (self.portal_amount_vnd or 0)


def discrepancy_key(finding: Finding) -> str:
    """Stable across attempts of one run: the line's number, or the payment the file lacks."""
    return f"L{finding.line_no:09d}" if finding.line_no is not None else f"P{finding.payment_id}"


def is_discrepancy(finding: Finding) -> bool:
    return finding.category is not Category.MATCHED


def needs_action(finding: Finding) -> bool:
    """A known payment the bank settled and the portal does not show paid, or a second bank transaction."""
    return (finding.category is Category.MISSING_AT_PORTAL and finding.known) or finding.refund_required


def discrepancy_of(run_id: str, finding: Finding, reason: str | None = None, **extra: Any) -> Discrepancy:
    return Discrepancy(run_id=run_id, key=discrepancy_key(finding), category=finding.category,
                       payment_id=finding.payment_id, line_no=finding.line_no, bank_txn_ref=finding.bank_txn_ref,
                       bank_amount_vnd=finding.bank_amount_vnd, portal_amount_vnd=finding.portal_amount_vnd,
                       portal_state=finding.portal_state, paid_at=finding.paid_at,
                       refund_required=finding.refund_required, reason=reason or finding.reason, **extra)


SETTLEMENT_PREFIX = "settlements/"
_KEY = re.compile(r"^settlements/([A-Z]{2,10})/([A-Z]{2,10})_([0-9]{8})\.([a-z]{2,4})$")


def settlement_key(bank_code: str, day: date, file_name: str) -> str:
    """Where a bank's file for ``day`` lands in the documents bucket: ``settlements/<BANK>/<file name>``."""
    return f"{SETTLEMENT_PREFIX}{bank_code}/{file_name}"


def parse_settlement_key(key: str) -> tuple[str, date] | None:
    """(bank, day) of ``settlements/VCB/VCB_20261130.csv``; None for any other key (the folder and the name must
    name the same bank)."""
    match = _KEY.fullmatch(key)
    if match is None or match.group(1) != match.group(2):
        return None
    try:
        return match.group(1), datetime.strptime(match.group(3), "%Y%m%d").date()
    except ValueError:
        return None
