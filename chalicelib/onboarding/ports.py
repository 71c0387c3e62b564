"""What the onboarding use cases (support requests, their clock, the six integration steps) need from the outside
world, and the settings they run with. DynamoDB/S3/KMS adapters and the in-memory fakes of tests implement these.

Type-only imports stay under TYPE_CHECKING: ``config`` reads ``OnboardingSettings`` from here at every cold start.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

if TYPE_CHECKING:
    from chalicelib.core.clock import Clock
    from chalicelib.onboarding.domain.requests import SupportRequest
    from chalicelib.outbox.domain import Intent

MIB = 1024 * 1024


@dataclass(frozen=True)
class OnboardingSettings:
    """A section of the one Settings (``settings.onboarding``); tests build their own."""

    attachment_max_file_bytes: int = 10 * MIB
    attachment_max_total_bytes: int = 25 * MIB  # per request, comments' files included
    attachment_max_files: int = 10  # per request
    upload_expires_s: int = 900
    download_expires_s: int = 300
    # Where the feedback email sends people: the portal's administration page of the request (configuration; the
    # real page's path is the portal front end's, not verified here).
    request_link_template: str = "https://dichvucong.gov.vn/p/quantri/yeu-cau-ho-tro/{request_id}"
    check_timeout_s: float = 3.0  # the session call made when a configuration request is filed
    progress_cache_s: float = 300.0  # a province past a step is remembered this long per container


class ConcurrentChangeError(Exception):
    """The item changed between read and conditional write."""


@dataclass(frozen=True)
class ListPage:
    rows: list[dict[str, Any]]
    next_key: str | None  # sort key to continue after, or None at the end
    queries: int  # DynamoDB calls made for the page (bounded)


class SupportRequestStore(Protocol):
    def create(self, request: SupportRequest, audit: dict[str, Any], intents: Sequence[Intent],
               timer_at: int | None) -> None:
        """One transaction: the request, its listing entry, the audit record, the clock's timer, the intents."""

    def get(self, request_id: str) -> SupportRequest | None: ...

    def detail(self, request_id: str) -> tuple[SupportRequest | None, list[dict[str, Any]], list[dict[str, Any]]]:
        """The request, its comments and its audit trail (oldest first), in one query."""

    def update(self, request: SupportRequest, expected_rev: int, audit: dict[str, Any] | None, *,
               intents: Sequence[Intent] = (), timer_at: int | None = None, comment: dict[str, Any] | None = None,
               report: tuple[str, dict[str, int]] | None = None) -> None:
        """One transaction conditional on ``expected_rev`` (ConcurrentChangeError): the request and its listing
        entry, the audit record, the timer put (``timer_at``) or removed (None), an optional comment, optional
        monthly-report counters (month, {counter: increment}), the intents."""

    def list(self, unit: str | None, key_range: tuple[str, str], filters: dict[str, Any], limit: int,
             after: str | None) -> ListPage:
        """Newest first; ``unit`` None = every province. A bounded number of queries per page."""

    def due_timers(self, now_epoch: int, limit: int = 100) -> list[str]:
        """Request ids whose next clock alert is due."""

    def monthly(self, first: str, last: str) -> list[dict[str, Any]]:
        """Report counters per month ``YYYY-MM`` in [first, last]."""


class ProgressStore(Protocol):
    def get(self, agency_code: str) -> dict[str, Any] | None:
        """{"events": [...], "overrides": [...], "rev": n, ...} or None if nothing happened yet."""

    def put(self, agency_code: str, record: dict[str, Any], expected_rev: int | None) -> None:
        """Conditional on ``expected_rev`` (None: must not exist); ConcurrentChangeError otherwise."""

    def list_all(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class StoredObject:
    size: int  # the whole object's size
    head: bytes  # its first bytes (all of them when small)
    metadata: dict[str, str]
    encryption: str | None


class AttachmentFiles(Protocol):
    def upload_form(self, key: str, content_type: str, metadata: dict[str, str], max_bytes: int,
                    expires_s: int) -> dict[str, Any]:
        """A presigned POST: SSE, content-length-range, the pending tag the lifecycle rule expires."""

    def head(self, key: str, max_bytes: int) -> StoredObject | None:
        """One ranged GET of the first ``max_bytes``; None if there is no such object."""

    def mark_accepted(self, key: str) -> None: ...

    def download_url(self, key: str, file_name: str, media_type: str, expires_s: int) -> str: ...


class CredentialSealer(Protocol):
    def seal(self, agency_code: str, api_type: str, plaintext: bytes) -> str:
        """Ciphertext only the outbox consumer can open (the API may encrypt with the app key, never decrypt)."""


class SelfTestRuns(Protocol):
    def get(self, run_id: str) -> dict[str, Any] | None:
        """{"run_id", "province" (agency code), "passed": bool, "finished_at", "evidence": {...}} or None."""


class OnboardingContext(Protocol):
    """The part of the service context onboarding reads. Applying a configuration request and the API check also
    run the province use cases with this same context (registry, credentials, http: ``ProvincesContext``)."""

    settings: Any
    clock: Clock
    new_id: Callable[[], str]
    support_requests: SupportRequestStore
    progress: ProgressStore
    support_files: AttachmentFiles
    credential_sealer: CredentialSealer
    self_test_runs: SelfTestRuns
    caches: dict[str, Any]

    def count(self, name: str, value: int = 1) -> None: ...
