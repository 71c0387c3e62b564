"""In-memory fakes of the onboarding ports (support requests, progress, attachment files, the credential sealer,
self-test runs), mirroring the DynamoDB adapter's conditions (a write conditional on ``rev`` raises
ConcurrentChangeError; nothing is half-written) and its listing semantics (sort key ``<ms>#<id>``, newest first,
filters over a key range). Intents committed with a change go through the real outbox use case (FakeOutbox)."""
from __future__ import annotations

import hashlib
import json
import threading
from copy import deepcopy
from datetime import datetime
from typing import Any

from chalicelib.config import Settings
from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.context import Context
from chalicelib.onboarding.domain.requests import SupportRequest
from chalicelib.onboarding.domain.search import row, search_attributes, sort_key
from chalicelib.onboarding.ports import ConcurrentChangeError, ListPage, StoredObject
from chalicelib.provinces.domain.registry import Credentials
from tests.fakes import FakeOutbox
from tests.fakes_provinces import FakeAlertChannels, FakeCredentials, FakeProvince, FakeRegistry

MONDAY = datetime(2026, 5, 18, 9, 0, tzinfo=VN_TZ)  # a plain working Monday


class InMemorySupportRequests:
    def __init__(self, outbox: FakeOutbox) -> None:
        self.outbox = outbox
        self.requests: dict[str, str] = {}
        self.comments: dict[str, list[dict]] = {}
        self.audit: dict[str, list[dict]] = {}
        self.timers: dict[str, int] = {}
        self.reports: dict[str, dict[str, int]] = {}
        self.list_calls = 0
        self._lock = threading.Lock()

    def create(self, request: SupportRequest, audit: dict, intents, timer_at: int | None) -> None:
        with self._lock:
            if request.request_id in self.requests:
                raise ConcurrentChangeError(request.request_id)
            self.requests[request.request_id] = request.model_dump_json()
            self.audit[request.request_id] = [deepcopy(audit)]
            if timer_at is not None:
                self.timers[request.request_id] = timer_at
        self.outbox.accept(intents)

    def get(self, request_id: str) -> SupportRequest | None:
        raw = self.requests.get(request_id)
        return SupportRequest.model_validate_json(raw) if raw else None

    def detail(self, request_id: str):
        return (self.get(request_id), deepcopy(self.comments.get(request_id, [])),
                deepcopy(self.audit.get(request_id, [])))

    def update(self, request: SupportRequest, expected_rev: int, audit: dict | None, *, intents=(),
               timer_at: int | None = None, comment: dict | None = None, report=None) -> None:
        with self._lock:
            current = self.get(request.request_id)
            if current is None or current.rev != expected_rev:
                raise ConcurrentChangeError(request.request_id)
            self.requests[request.request_id] = request.model_dump_json()
            if audit is not None:
                self.audit.setdefault(request.request_id, []).append(deepcopy(audit))
            if timer_at is None:
                self.timers.pop(request.request_id, None)
            else:
                self.timers[request.request_id] = timer_at
            if comment is not None:
                self.comments.setdefault(request.request_id, []).append(deepcopy(comment))
            if report is not None:
                month, counts = report
                totals = self.reports.setdefault(month, {})
                for k, v in counts.items():
                    totals[k] = totals.get(k, 0) + v
        self.outbox.accept(intents)

    def list(self, unit, key_range, filters, limit, after) -> ListPage:
        self.list_calls += 1
        keyed = []
        for raw in self.requests.values():
            request = SupportRequest.model_validate_json(raw)
            key = sort_key(request.created_at, request.request_id)
            if unit is not None and request.unit_code != unit:
                continue
            if not key_range[0] <= key <= key_range[1] or (after is not None and key >= after):
                continue
            if _matches(search_attributes(request), filters):
                keyed.append((key, row(request)))
        keyed.sort(key=lambda kv: kv[0], reverse=True)
        page = keyed[:limit]
        return ListPage([r for _, r in page], page[-1][0] if len(keyed) > limit else None, 1)

    def due_timers(self, now_epoch: int, limit: int = 100) -> list[str]:
        return [rid for rid, at in sorted(self.timers.items(), key=lambda kv: kv[1]) if at <= now_epoch][:limit]

    def monthly(self, first: str, last: str) -> list[dict]:
        return [{"month": m, **c} for m, c in sorted(self.reports.items()) if first <= m <= last]


def _matches(attrs: dict[str, str], filters: dict[str, Any]) -> bool:
    for key, wanted in filters.items():
        if key in ("q_title", "q_req"):
            if wanted not in attrs[key]:
                return False
        elif attrs[key] not in wanted:
            return False
    return True


class InMemoryProgress:
    def __init__(self) -> None:
        self.records: dict[str, str] = {}
        self.writes = 0

    def get(self, agency_code: str) -> dict | None:
        raw = self.records.get(agency_code)
        return json.loads(raw) if raw else None

    def put(self, agency_code: str, record: dict, expected_rev: int | None) -> None:
        current = self.get(agency_code)
        if (current["rev"] if current else None) != expected_rev:
            raise ConcurrentChangeError(agency_code)
        self.writes += 1
        self.records[agency_code] = json.dumps({**record, "rev": (expected_rev or 0) + 1}, default=str)

    def list_all(self) -> list[dict]:
        return [json.loads(r) for r in self.records.values()]


class FakeFiles:
    """AttachmentFiles: ``upload(key, content, metadata)`` stands for the browser's POST to S3."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.tags: dict[str, str] = {}
        self.forms: list[dict] = []
        self.heads = 0

    def upload_form(self, key, content_type, metadata, max_bytes, expires_s) -> dict:
        form = {"url": "https://s3.example/bucket", "fields": {"key": key, "Content-Type": content_type,
                                                              **{f"x-amz-meta-{k}": v for k, v in metadata.items()}},
                "method": "POST", "file_field": "file"}
        self.forms.append({"key": key, "metadata": dict(metadata), "max_bytes": max_bytes})
        return form

    def upload(self, key: str, content: bytes, metadata: dict[str, str]) -> None:
        self.objects[key] = (content, dict(metadata))
        self.tags[key] = "pending"

    def head(self, key: str, max_bytes: int) -> StoredObject | None:
        self.heads += 1
        found = self.objects.get(key)
        if found is None:
            return None
        return StoredObject(len(found[0]), found[0][:max_bytes], dict(found[1]), "AES256")

    def mark_accepted(self, key: str) -> None:
        self.tags[key] = "accepted"

    def download_url(self, key, file_name, media_type, expires_s) -> str:
        return f"https://s3.example/{key}?X-Amz-Expires={expires_s}"


class FakeSealer:
    """Opaque tokens; the 'outbox consumer' side (SealingCredentials.put_sealed) opens them."""

    def __init__(self) -> None:
        self.sealed: dict[str, tuple[str, str, bytes]] = {}

    def seal(self, agency_code: str, api_type: str, plaintext: bytes) -> str:
        token = "kms:" + hashlib.sha256(plaintext + agency_code.encode() + api_type.encode()).hexdigest()
        self.sealed[token] = (agency_code, api_type, plaintext)
        return token


class SealingCredentials(FakeCredentials):
    def __init__(self, sealer: FakeSealer) -> None:
        super().__init__()
        self._sealer = sealer

    def put_sealed(self, agency_code: str, api_type: str, sealed: str, version: int = 0) -> bool:
        bound_agency, bound_type, plaintext = self._sealer.sealed[sealed]
        if (bound_agency, bound_type) != (agency_code, api_type):
            raise ValueError("encryption context mismatch")
        return self.store_versioned(agency_code, api_type, Credentials.model_validate_json(plaintext).model_dump(),
                                    version)


class FakeSelfTestRuns:
    def __init__(self) -> None:
        self.runs: dict[str, dict] = {}

    def get(self, run_id: str) -> dict | None:
        return deepcopy(self.runs.get(run_id))


class DirectStepEvents:
    """The StepEvents port as the composition root wires it: onboarding's use case, same context."""

    def __init__(self) -> None:
        self.ctx: Any = None

    def record(self, province: str, step: int, evidence: dict) -> None:
        from chalicelib.onboarding.services.progress import record_step_event

        record_step_event(self.ctx, province, step, evidence)


def make_onboarding_services(clock: FixedClock | None = None, **overrides: Any) -> Context:
    clock = clock or FixedClock(MONDAY)
    outbox, sealer, steps = FakeOutbox(), FakeSealer(), DirectStepEvents()
    fields: dict[str, Any] = {
        "settings": Settings(), "clock": clock, "outbox": outbox,
        "support_requests": InMemorySupportRequests(outbox), "progress": InMemoryProgress(),
        "support_files": FakeFiles(), "credential_sealer": sealer, "self_test_runs": FakeSelfTestRuns(),
        "registry": FakeRegistry(), "credentials": SealingCredentials(sealer), "http": FakeProvince(clock),
        "alerts": FakeAlertChannels(), "step_events": steps,
        "receipt_pdf": lambda doc: b"%PDF-1.4 fake", "sms": None, "forwarding": None,
    }
    fields.update(overrides)
    ctx = Context(**fields)
    outbox.bind(ctx)
    steps.ctx = ctx
    return ctx
