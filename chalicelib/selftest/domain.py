"""The automated integration self-test (M11, steps 4 and 5): its policy, its runs, its rate limit and its test data.

A run is started by a province administrator (own province) or an operator and runs as a job: a clearly marked test
dossier and notice for the province, lookup, payment through the test bank, a receipt from the test series, then
the notice, the payment result and the receipt file delivered to the province's registered APIs with
``"test": true``. Per province at most one run at a time and ``max_per_hour`` runs in any hour; a run the job never
finished frees the province after ``lease_s``. Pure: no I/O.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["queued", "running", "passed", "failed", "error"]
FINAL = frozenset({"passed", "failed", "error"})
HOUR_S = 3600
TEST_AGENCY_PREFIX = "TST"  # level 4 of a test dossier's agency: no real agency code starts with letters here
TEST_AMOUNT_VND = 10_000
TEST_SUB_ITEM = ("2801", "Lệ phí trước bạ nhà đất (giao dịch kiểm thử, không thu tiền)")
TEST_PAYER = "KIỂM THỬ TÍCH HỢP - KHÔNG THU TIỀN"
TEST_ADDRESS = "Địa chỉ kiểm thử tích hợp (không có thật)"
EVIDENCE_PREFIX = "selftest-evidence"


@dataclass(frozen=True)
class SelfTestPolicy:
    """A section of the one Settings (``settings.selftest``)."""

    max_per_hour: int = 6
    lease_s: int = 600  # a run still "running" after this was interrupted: the province may start another
    evidence_url_ttl_s: int = 900


class RateLimitedError(Exception):
    def __init__(self, code: str, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.code, self.message, self.retry_after_s = code, message, max(1, retry_after_s)


@dataclass(frozen=True)
class Limiter:
    """Per province: the run in progress (and until when it may hold the province) and the start times of the
    last hour."""

    running: str | None = None
    running_until: int = 0
    starts: tuple[int, ...] = field(default_factory=tuple)
    rev: int = 0

    def admit(self, run_id: str, now: int, policy: SelfTestPolicy) -> Limiter:
        """The limiter with ``run_id`` started now, or RateLimitedError with when to come back."""
        if self.running and self.running_until > now:
            raise RateLimitedError("SELFTEST_RUNNING", "Tỉnh đang có một lượt kiểm thử tích hợp chưa kết thúc; vui "
                                   "lòng chờ lượt đó xong.", min(self.running_until - now, 30))
        recent = tuple(t for t in self.starts if t > now - HOUR_S)
        if len(recent) >= policy.max_per_hour:
            wait = min(recent) + HOUR_S - now
            raise RateLimitedError("SELFTEST_RATE_LIMITED", f"Mỗi tỉnh được chạy tối đa {policy.max_per_hour} lượt "
                                   f"kiểm thử tích hợp trong một giờ; vui lòng thử lại sau {max(1, wait // 60 + 1)} "
                                   "phút.", wait)
        return Limiter(run_id, now + policy.lease_s, (*recent, now), self.rev + 1)

    def release(self, run_id: str) -> Limiter:
        if self.running != run_id:
            return self
        return Limiter(None, 0, self.starts, self.rev + 1)


class StepView(BaseModel):
    """One step of a run as the API shows it (the full request/answer is in the evidence)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    api_type: str | None = None
    result: Literal["passed", "failed", "skipped"]
    status: int | None = None
    latency_ms: float | None = None
    fix: str | None = None
    note: str | None = None


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pdf_key: str
    json_key: str


class SelfTestRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str
    province: str = Field(description="Level-1 agency code, e.g. 000.00.00.H35.")
    province_name: str
    requested_by: str
    requested_role: str
    status: RunStatus = "queued"
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    lease_until: int = 0
    dossier_code: str | None = None
    payment_id: str | None = None
    receipt_id: str | None = None
    receipt_number: str | None = None
    receipt_series: str | None = None
    steps: list[StepView] = Field(default_factory=list)
    evidence: Evidence | None = None
    error: str | None = None
    rev: int = 0

    @property
    def finished(self) -> bool:
        return self.status in FINAL

    def interrupted(self, now: int) -> bool:
        return self.status == "running" and self.lease_until <= now


def evidence_keys(province: str, run_id: str) -> Evidence:
    base = f"{EVIDENCE_PREFIX}/{province}/{run_id}/bao-cao-kiem-thu-tich-hop"
    return Evidence(pdf_key=f"{base}.pdf", json_key=f"{base}.json")


# -- test data ----------------------------------------------------------------------------------------------------

_ALNUM = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def make_dossier_code(province: str, now: datetime, rng: random.Random) -> str:
    """``TST.<2>.<2>.H35-YYMMDD-NNNN``: a valid dossier code of the province that no real agency issues."""
    letter = province.rsplit(".", 1)[1]
    part = lambda: "".join(rng.choice(_ALNUM) for _ in range(2))  # noqa: E731 - two random characters
    return f"{TEST_AGENCY_PREFIX}.{part()}.{part()}.{letter}-{now:%y%m%d}-{rng.randrange(10_000):04d}"


def is_test_dossier_code(dossier_code: str) -> bool:
    return dossier_code.startswith(f"{TEST_AGENCY_PREFIX}.")


def make_id_number(rng: random.Random) -> str:
    """A synthetic 12-digit personal ID number (Hà Nội, a man born in 1999): nobody's, and masked in the evidence."""
    return f"001099{rng.randrange(10**6):06d}"


def make_batch(dossier_code: str, id_number: str, run_id: str, commune_code: str, now: datetime) -> dict:
    """The notice intake body of a run's test dossier (one notice of TEST_AMOUNT_VND, no phone: no SMS)."""
    code, description = TEST_SUB_ITEM
    return {
        "dossier_code": dossier_code, "id_number": id_number, "commune_code": commune_code,
        "commune_code_system": "gso", "property": {"address": TEST_ADDRESS},
        "notices": [{"notice_number": f"KT-{run_id[-12:]}", "version": 1, "payer_name": TEST_PAYER,
                     "issued_at": now.replace(microsecond=0).isoformat(), "due_date": now.date().isoformat(),
                     "items": [{"sub_item_code": code, "description": description, "amount_vnd": TEST_AMOUNT_VND}],
                     "total_vnd": TEST_AMOUNT_VND}],
    }
