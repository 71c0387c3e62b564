"""In-memory fakes of the self-test ports, and a context joining them with the payments and province fakes."""
from __future__ import annotations

import threading
from typing import Any

from chalicelib.config import Settings
from chalicelib.core.clock import FixedClock
from chalicelib.provinces.domain.delivery import ApiType
from chalicelib.provinces.domain.registry import Credentials
from chalicelib.selftest.domain import Limiter, SelfTestPolicy, SelfTestRun
from chalicelib.selftest.ports import StaleRunError
from tests.fakes import START, make_services
from tests.fakes_provinces import PROVINCE, FakeCredentials, FakeProvince, FakeRegistry, api_config


class InMemorySelfTests:
    def __init__(self, outbox) -> None:
        self.runs: dict[str, str] = {}
        self.limiters: dict[str, Limiter] = {}
        self.outbox = outbox
        self._lock = threading.Lock()

    def limiter(self, province: str) -> Limiter:
        return self.limiters.get(province, Limiter())

    def start(self, run: SelfTestRun, limiter: Limiter, expected_rev: int, intents) -> None:
        with self._lock:
            if self.limiter(run.province).rev != expected_rev or run.run_id in self.runs:
                raise StaleRunError(run.run_id)
            self.limiters[run.province] = limiter
            self.runs[run.run_id] = run.model_dump_json()
        self.outbox.accept(intents)  # sent once committed, as the stream consumer would

    def save_limiter(self, province: str, limiter: Limiter, expected_rev: int) -> None:
        with self._lock:
            if self.limiter(province).rev != expected_rev:
                raise StaleRunError(province)
            self.limiters[province] = limiter

    def get(self, run_id: str) -> SelfTestRun | None:
        raw = self.runs.get(run_id)
        return SelfTestRun.model_validate_json(raw) if raw else None

    def save(self, run: SelfTestRun, expected_rev: int) -> None:
        with self._lock:
            stored = self.get(run.run_id)
            if stored is None or stored.rev != expected_rev:
                raise StaleRunError(run.run_id)
            self.runs[run.run_id] = run.model_dump_json()

    def list(self, province: str, limit: int = 20) -> list[SelfTestRun]:
        runs = [r for r in (self.get(i) for i in self.runs) if r.province == province]
        return sorted(runs, key=lambda r: (r.created_at, r.run_id), reverse=True)[:limit]


class FakeSelfTestQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def enqueue(self, run_id: str, province: str) -> None:
        self.sent.append((run_id, province))


class FakeEvidence:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type)

    def download_url(self, key: str, expires_s: int, file_name: str) -> str:
        return f"https://s3.example/{key}?expires={expires_s}&name={file_name}"


class FakeStepEvents:
    def __init__(self, live: set[str] | None = None) -> None:
        self.live = set(live or ())
        self.events: list[tuple[str, int, dict]] = []

    def record(self, province: str, step: int, evidence: dict[str, Any]) -> None:
        self.events.append((province, step, evidence))

    def is_live(self, province: str) -> bool:
        return province in self.live


def make_selftest_services(http=None, clock: FixedClock | None = None, policy: SelfTestPolicy | None = None,
                           apis=tuple(ApiType), **overrides):
    """Payments fakes + the province's registry, credentials and HTTP + the self-test fakes, on one context."""
    from chalicelib.onboarding.adapters.evidence_pdf import render_evidence_pdf
    from chalicelib.receipts.adapters.pdf import render_receipt_pdf

    clock = clock or FixedClock(START)
    registry, creds = FakeRegistry(), FakeCredentials()
    for t in apis:
        registry.apis[(PROVINCE, t)] = api_config(t)
        creds.store[(PROVINCE, t)] = Credentials(username="user", password="secret-pass").model_dump_json()
    svc = make_services(clock=clock, settings=Settings(selftest=policy or SelfTestPolicy()), registry=registry,
                        credentials=creds, http=http or FakeProvince(clock), selftest_queue=FakeSelfTestQueue(),
                        evidence=FakeEvidence(), evidence_pdf=render_evidence_pdf, receipt_pdf=render_receipt_pdf,
                        step_events=FakeStepEvents(), **overrides)
    svc.selftests = InMemorySelfTests(svc.outbox)
    return svc
