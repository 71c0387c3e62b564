"""What the self-test use cases need: the store of runs and per-province limits, the job queue, the evidence store,
the evidence renderer and the province's integration-step record (DynamoDB/SQS/S3 adapters, or the fakes)."""
from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

from chalicelib.core.clock import Clock
from chalicelib.outbox.domain import Intent
from chalicelib.selftest.domain import Limiter, SelfTestRun


class StaleRunError(Exception):
    """The run or the province's limiter changed between read and conditional write."""


class SelfTestStore(Protocol):
    def limiter(self, province: str) -> Limiter: ...

    def start(self, run: SelfTestRun, limiter: Limiter, expected_rev: int, intents: Sequence[Intent]) -> None:
        """One transaction: the limiter (if its stored rev is still ``expected_rev``), the new run and the job's
        intents. StaleRunError otherwise; nothing is written then."""

    def save_limiter(self, province: str, limiter: Limiter, expected_rev: int) -> None: ...

    def get(self, run_id: str) -> SelfTestRun | None: ...

    def save(self, run: SelfTestRun, expected_rev: int) -> None:
        """Write the run if its stored rev is still ``expected_rev`` (StaleRunError otherwise)."""

    def list(self, province: str, limit: int = 20) -> list[SelfTestRun]:
        """The province's runs, newest first."""


class SelfTestQueue(Protocol):
    def enqueue(self, run_id: str, province: str) -> None:
        """Hand a started run to the job (the outbox does it once the run is written)."""


class EvidenceStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def download_url(self, key: str, expires_s: int, file_name: str) -> str:
        """A presigned GET of the object, named ``file_name`` when saved."""


class StepEvents(Protocol):
    """The province's integration steps (the support-request capability records and tracks them).

    ``record(province, 4, evidence)`` says a self-test reached all of the province's APIs; ``is_live`` whether the
    province went live (a live province receives no test data any more)."""

    def record(self, province: str, step: int, evidence: dict[str, Any]) -> None: ...

    def is_live(self, province: str) -> bool: ...


class SelfTestContext(Protocol):
    """What the self-test use cases read besides the payments and provinces ports they drive."""

    settings: Any  # settings.selftest: SelfTestPolicy
    clock: Clock
    new_id: Callable[[], str]
    selftests: SelfTestStore
    evidence: EvidenceStore
    evidence_pdf: Callable[[Any], bytes]
    step_events: StepEvents
